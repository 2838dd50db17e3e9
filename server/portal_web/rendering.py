"""Jinja2 for the portal's pages (autoescaped), with the filters they format with."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, Response

from server.portal_web.documents import PAGES
from server.portal_web.security import secure_headers
from services.money import format_money


def money(amount: Any, currency: str) -> str:
    try:
        return format_money(Decimal(str(amount)), currency)
    except (InvalidOperation, ValueError, KeyError):
        return f"{amount} {currency}"


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
ENVIRONMENT.filters["humanize"] = humanize
ENVIRONMENT.filters["positive"] = positive


def render(
    template: str, context: dict[str, Any], *, status_code: int = 200, stripe: bool = False
) -> Response:
    body = ENVIRONMENT.get_template(template).render(**context)
    return secure_headers(HTMLResponse(body, status_code=status_code), stripe=stripe)
