"""Checks on user input shared by several services."""

from __future__ import annotations

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
