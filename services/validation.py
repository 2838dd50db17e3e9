"""Checks on user input shared by several services."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from email_validator import EmailNotValidError, validate_email

from services.errors import BadInput


def normalise_email(email: str, *, field: str = "email") -> str:
    """A valid email address, lower-cased; :class:`BadInput` otherwise. The reserved
    ``.test`` domain is accepted: demo and test accounts use it."""
    try:
        result = validate_email(email.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise BadInput(f"{email!r} is not a valid email address.", field=field) from error
    return result.normalized.lower()


def normalise_email_for_lookup(email: str) -> str:
    """The form an email is stored in, without rejecting it (sign-in must not tell a
    malformed address apart from an unknown one)."""
    return email.strip().lower()


def required_text(value: str, *, field: str, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise BadInput("This field is required.", field=field)
    if len(value) > max_length:
        raise BadInput(f"At most {max_length} characters.", field=field)
    return value


def optional_text(value: str | None, *, field: str, max_length: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > max_length:
        raise BadInput(f"At most {max_length} characters.", field=field)
    return value or None


DOCUMENT_TEXTS = {
    "po_number": ("poNumber", 100),
    "public_notes": ("publicNotes", 10000),
    "private_notes": ("privateNotes", 10000),
    "terms": ("terms", 10000),
}
"""The free texts of a billing document (invoice, quote, recurring invoice): their
GraphQL field names and length limits."""


def apply_document_texts(document: object, data: object) -> None:
    """Copy each of :data:`DOCUMENT_TEXTS` that ``data`` gives (not ``None``) onto
    ``document``, trimmed and checked (blank clears it)."""
    for name, (field, max_length) in DOCUMENT_TEXTS.items():
        value = getattr(data, name, None)
        if value is not None:
            setattr(document, name, optional_text(value, field=field, max_length=max_length))


# --- the input rules every argument follows (README "Input rules") ---------------------

MIN_DATE = date(1900, 1, 1)
"""Earliest date accepted anywhere: every date the database stores and the code computes
with (statement aging, recurring periods, due dates) stays inside ``MIN_DATE..MAX_DATE``
plus a few years of arithmetic, far from ``date.min``/``date.max``."""
MAX_DATE = date(2999, 12, 31)
"""Latest date accepted anywhere (see :data:`MIN_DATE`)."""
MIN_DATETIME = datetime.combine(MIN_DATE, time.min, tzinfo=UTC)
MAX_DATETIME = datetime.combine(MAX_DATE, time.max, tzinfo=UTC)

_FORBIDDEN_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""C0 controls but tab, line feed and carriage return; DEL; C1 controls; and the
surrogate code points (a lone surrogate is no text and cannot be encoded as UTF-8)."""


def forbidden_character(value: str) -> str | None:
    """The first character of ``value`` no text field may hold, if any."""
    match = _FORBIDDEN_CHARACTER.search(value)
    return match.group() if match else None


def describe_character(character: str) -> str:
    """``U+0000 (a control character)``: how a refused character is named in messages."""
    kind = "an unpaired surrogate" if "\ud800" <= character <= "\udfff" else "a control character"
    return f"U+{ord(character):04X} ({kind})"


def check_date(value: date, *, field: str) -> date:
    """A date inside ``MIN_DATE..MAX_DATE``; :class:`BadInput` otherwise."""
    if not MIN_DATE <= value <= MAX_DATE:
        raise BadInput(
            f"Dates run from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}.", field=field
        )
    return value


def check_datetime(value: datetime, *, field: str) -> datetime:
    """An aware datetime inside the date range, as UTC; :class:`BadInput` otherwise."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise BadInput("A date and time needs its UTC offset.", field=field)
    try:
        value = value.astimezone(UTC)
        in_range = MIN_DATETIME <= value <= MAX_DATETIME
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00 has no UTC form at all
        in_range = False
    if not in_range:
        raise BadInput(
            f"Dates and times run from {MIN_DATE.isoformat()}T00:00:00Z to "
            f"{MAX_DATE.isoformat()}T23:59:59Z.",
            field=field,
        )
    return value
