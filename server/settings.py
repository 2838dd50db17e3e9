"""The process's settings, read once from the environment.

A configuration mistake becomes a :class:`ConfigurationError` whose message is one line
naming the ``PORTICO_*`` variable and what it expects; ``portico`` prints it and exits 2.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import SettingsError

from server.proxies import parse_trusted_proxies
from services.config import Settings

_FIELD_IN_SETTINGS_ERROR = re.compile(r'field "(\w+)"')
_LIST_EXAMPLES = {
    "cors_origins": '["https://app.example.com"]',
    "trusted_proxies": '["10.0.0.1", "192.168.0.0/16"]',
}


class ConfigurationError(Exception):
    """The settings cannot be loaded; ``str(error)`` is one line for the operator."""


def variable(field: str) -> str:
    """The environment variable of a settings field."""
    return f"PORTICO_{field.upper()}"


def _describe(error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:  # a check of the whole settings: its message names the variable
        return message
    field = str(error["loc"][0])
    if error["type"] == "value_error":
        return f"{variable(field)}: {message}"
    given = error.get("input")
    got = f" (got {given!r})" if isinstance(given, str | int | float) else ""
    return f"{variable(field)}: {message[:1].lower()}{message[1:]}{got}"


def describe_validation_error(error: ValidationError) -> str:
    """One line for every mistake ``error`` reports."""
    return "; ".join(_describe(detail) for detail in error.errors())


def describe_settings_error(error: SettingsError) -> str:
    """One line for a value pydantic-settings could not parse (JSON fields, mostly)."""
    found = _FIELD_IN_SETTINGS_ERROR.search(str(error))
    if found is None:
        return f"configuration: {error}"
    field = found.group(1)
    annotation = Settings.model_fields[field].annotation if field in Settings.model_fields else None
    if getattr(annotation, "__origin__", None) is list:
        example = _LIST_EXAMPLES.get(field, '["a", "b"]')
        expected = f"a JSON list, e.g. {example} (or [] for none)"
    else:
        expected = "valid JSON"
    return f"{variable(field)}: expected {expected}"


def load_settings() -> Settings:
    """Settings from the environment, every mistake turned into a :class:`ConfigurationError`."""
    try:
        settings = Settings()
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error)) from None
    except SettingsError as error:
        raise ConfigurationError(describe_settings_error(error)) from None
    try:
        parse_trusted_proxies(settings.trusted_proxies)  # names its variable already
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (tests build their own :class:`Settings` instead).

    Raises :class:`ConfigurationError` on a configuration mistake."""
    return load_settings()
