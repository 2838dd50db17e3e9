"""Jinja2 for the portal's pages (autoescaped), with the filters they format with.

Money and dates are written in the account's locale (the context's ``locale``, which the
layout sets from the portal's branding; ``en_US`` before it is known): ``1.234,50 €``
and ``02.12.2026`` for de_DE, ``$1,234.50`` and ``Dec 2, 2026`` for en_US, each currency
at its own precision (``¥1,500``). Timestamps (the API answers them in UTC) are shown in
the account's time zone (the context's ``timezone``, which the layout sets from the
account; UTC before it is known): ``day`` gives the local day, ``moment`` the local day
and time (``Dec 1, 2026, 4:30 PM``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from babel.core import UnknownLocaleError
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.responses import HTMLResponse, Response

from server.portal_web.documents import PAGES
from server.portal_web.security import secure_headers
from services.dates import format_day, format_moment
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


def timezone_of(context: Context) -> str | None:
    """The account's time zone, where the page knows it."""
    timezone = context.get("timezone")
    return timezone if isinstance(timezone, str) and timezone else None


@pass_context
def day(context: Context, value: Any) -> str:
    """An ISO date, or the local day of an ISO datetime (as the API answers them), in
    the account's locale; what is not a date is shown as it came."""
    if not value:
        return ""
    try:
        return format_day(value, locale=locale_of(context), timezone=timezone_of(context))
    except (TypeError, ValueError):
        return str(value)


@pass_context
def moment(context: Context, value: Any) -> str:
    """An ISO datetime as the local day and time, in the account's locale."""
    if not value:
        return ""
    try:
        return format_moment(value, locale=locale_of(context), timezone=timezone_of(context))
    except (TypeError, ValueError):
        return str(value)


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
ENVIRONMENT.filters["moment"] = moment
ENVIRONMENT.filters["humanize"] = humanize
ENVIRONMENT.filters["positive"] = positive
ENVIRONMENT.tests["positive"] = positive


def render(
    template: str, context: dict[str, Any], *, status_code: int = 200, stripe: bool = False
) -> Response:
    body = ENVIRONMENT.get_template(template).render(**context)
    return secure_headers(HTMLResponse(body, status_code=status_code), stripe=stripe)
