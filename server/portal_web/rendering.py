"""Jinja2 for the portal's pages (autoescaped), with the filters they format with.

Money and dates are written in the account's locale (the context's ``locale``, which the
layout sets from the portal's branding; ``en_US`` before it is known): ``1.234,50 €``
and ``02.12.2026`` for de_DE, ``$1,234.50`` and ``Dec 2, 2026`` for en_US, each currency
at its own precision (``¥1,500``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.core import UnknownLocaleError
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.responses import HTMLResponse, Response

from server.portal_web.documents import PAGES
from server.portal_web.security import secure_headers
from services.money import DEFAULT_LOCALE, format_money


def locale_of(context: Context) -> str:
    """The page's ``locale``, else its portal branding's, else ``en_US``."""
    locale = context.get("locale")
    if not locale:
        portal = context.get("portal")
        locale = portal.get("locale") if isinstance(portal, dict) else None
    return locale if isinstance(locale, str) and locale else DEFAULT_LOCALE


@pass_context
def money(context: Context, amount: Any, currency: str) -> str:
    try:
        return format_money(Decimal(str(amount)), currency, locale=locale_of(context))
    except (InvalidOperation, ValueError, KeyError, UnknownLocaleError):
        return f"{amount} {currency}"


@pass_context
def day(context: Context, value: Any) -> str:
    """An ISO date (or the date of an ISO datetime, as the API answers them) in the
    account's locale; what is not a date is shown as it came."""
    if not value:
        return ""
    try:
        parsed = value if isinstance(value, date) else _parse_day(str(value))
        return format_date(parsed, format="medium", locale=locale_of(context))
    except (ValueError, UnknownLocaleError):
        return str(value)


def _parse_day(value: str) -> date:
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value).date()


def positive(amount: Any) -> bool:
    """Whether a Decimal amount (as the API answers it) is above zero."""
    try:
        return Decimal(str(amount)) > 0
    except InvalidOperation:
        return False


def humanize(value: Any) -> str:
    return str(value or "").replace("_", " ").capitalize()


ENVIRONMENT = Environment(
    loader=FileSystemLoader(PAGES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.filters["money"] = money
ENVIRONMENT.filters["day"] = day
ENVIRONMENT.filters["humanize"] = humanize
ENVIRONMENT.filters["positive"] = positive
ENVIRONMENT.tests["positive"] = positive


def render(
    template: str, context: dict[str, Any], *, status_code: int = 200, stripe: bool = False
) -> Response:
    body = ENVIRONMENT.get_template(template).render(**context)
    return secure_headers(HTMLResponse(body, status_code=status_code), stripe=stripe)
