"""Subject, plain text and HTML of a mail from the Jinja2 templates in ``templates/``.

Each mail is three files: ``<name>.subject.txt``, ``<name>.txt`` and ``<name>.html``;
the bodies extend ``base.txt``/``base.html`` (shared header and footer). HTML is
autoescaped, text and subject are not. Every template gets ``account`` (a
:class:`~services.mail.branding.Branding`) and ``base_url`` besides its own context;
a key the template needs but the caller did not pass is an error, not a blank.

Callers pass amounts, dates and times as values, and the templates write them the
account's way (its ``locale`` and ``timezone``, on :class:`Branding`):
``{{ total|money(currency) }}`` (``1.234,50 €`` in de_DE), ``{{ due_date|day }}`` (a
date as it is, a datetime's day where the business is) and ``{{ at|moment }}`` (day and
time there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.core import UnknownLocaleError
from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    UndefinedError,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from services.dates import format_day, format_moment
from services.mail.branding import Branding
from services.money import DEFAULT_LOCALE, format_money

SUBJECT_MAX_LENGTH = 300
RESERVED_KEYS = frozenset({"account", "base_url", "subject"})

_NAME = re.compile(r"[a-z][a-z0-9_]*")

_environment = Environment(
    loader=PackageLoader("services.mail", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _branding(context: Context) -> Branding | None:
    branding = context.get("account")
    return branding if isinstance(branding, Branding) else None


@pass_context
def _money(
    context: Context, amount: Decimal | int | str, currency: str, locale: str | None = None
) -> str:
    """``amount`` in ``currency``, the account's way unless a ``locale`` is named
    (:func:`services.money.format_money`)."""
    branding = _branding(context)
    if locale is None:
        locale = branding.locale if branding else DEFAULT_LOCALE
    value = Decimal(str(amount))
    try:
        return format_money(value, currency, locale=locale)
    except (UnknownLocaleError, ValueError):
        return format_money(value, currency)


@pass_context
def _day(context: Context, value: date | datetime | str) -> str:
    branding = _branding(context)
    if branding is None:
        return format_day(value, locale=DEFAULT_LOCALE)
    return format_day(value, locale=branding.locale, timezone=branding.timezone)


@pass_context
def _moment(context: Context, value: datetime | str) -> str:
    branding = _branding(context)
    if branding is None:
        return format_moment(value, locale=DEFAULT_LOCALE)
    return format_moment(value, locale=branding.locale, timezone=branding.timezone)


_environment.filters["money"] = _money
_environment.filters["day"] = _day
_environment.filters["moment"] = _moment


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def template_names() -> frozenset[str]:
    """The mails that have all three files."""
    files = set(_environment.list_templates())
    return frozenset(
        name.removesuffix(".subject.txt")
        for name in files
        if name.endswith(".subject.txt")
        and name.removesuffix(".subject.txt") + ".txt" in files
        and name.removesuffix(".subject.txt") + ".html" in files
    )


def render(
    template: str, *, branding: Branding, base_url: str, context: Mapping[str, Any]
) -> RenderedMail:
    """Render mail ``template``. Raises ValueError for an unknown template, a context
    key that shadows ``account``/``base_url``/``subject``, or a missing context key."""
    if not _NAME.fullmatch(template):
        raise ValueError(f"Unknown mail template {template!r}.")
    clash = RESERVED_KEYS & context.keys()
    if clash:
        raise ValueError(f"Mail context may not set {', '.join(sorted(clash))}.")
    values = {**context, "account": branding, "base_url": base_url.rstrip("/")}
    try:
        subject = _one_line(_environment.get_template(f"{template}.subject.txt").render(values))
        values["subject"] = subject
        text = _tidy(_environment.get_template(f"{template}.txt").render(values))
        html = _environment.get_template(f"{template}.html").render(values)
    except TemplateNotFound as error:
        raise ValueError(f"Unknown mail template {template!r}.") from error
    except UndefinedError as error:
        raise ValueError(f"Mail template {template!r}: {error.message}") from error
    return RenderedMail(subject=subject, text=text, html=html.strip() + "\n")


def _one_line(subject: str) -> str:
    """A header value: whitespace (newlines included) collapsed, length capped."""
    return " ".join(subject.split())[:SUBJECT_MAX_LENGTH]


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
