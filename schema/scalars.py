"""Portico's own ``Date``, ``DateTime`` and ``Decimal`` scalars (``scalar_overrides``).

Strawberry's defaults take whatever :mod:`datetime`, ``dateutil`` and :class:`Decimal`
take: ``"1_000"``, ``"١٢٣"``, ``"1e3"`` and ``"NaN"`` as numbers, week dates, naive
datetimes, year 9999. These accept one plain notation each (README "Input rules"):

* ``Date``: ``YYYY-MM-DD`` in ASCII digits, from 1900-01-01 to 2999-12-31;
* ``DateTime``: ISO 8601 / RFC 3339 ``YYYY-MM-DDTHH:MM[:SS[.ffffff]]`` with its offset
  (``Z`` or ``±HH:MM``), in the same range once moved to UTC (resolvers get aware UTC);
* ``Decimal``: ``-?[0-9]+(.[0-9]+)?``, at most 28 digits (exact in Python's decimal
  context): no ``+``, exponent, separators, spaces, NaN or Infinity. In variables a
  string or a JSON integer; a JSON number with a fraction or exponent is a binary float
  and refused. In a document a string, an integer or a float literal in that notation.

Anything else is refused with ``BAD_USER_INPUT`` before a resolver runs.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from graphql import FloatValueNode, GraphQLError, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from services.validation import MAX_DATE, MAX_DATETIME, MIN_DATE, MIN_DATETIME

MAX_DECIMAL_DIGITS = 28
"""Digits a Decimal may have: Python's default decimal precision, so no check or sum on
it rounds silently."""

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]"
    r"(?P<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")

_DATE_RANGE = f"{MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}"
_DATETIME_RANGE = f"{MIN_DATE.isoformat()}T00:00:00Z to {MAX_DATE.isoformat()}T23:59:59Z"
_DATETIME_EXAMPLE = '"2025-01-31T17:00:00Z" or "2025-01-31T18:00:00+01:00"'
_DECIMAL_FORMAT = (
    'ASCII digits with an optional leading "-" and "." (e.g. "1234.56"), at most '
    f"{MAX_DECIMAL_DIGITS} digits: no exponent, separators, spaces, NaN or Infinity"
)


def _shown(value: object) -> str:
    """``value`` as quoted in a message: JSON, escaped, cut short."""
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 40 else value[:40] + "…")
    return json.dumps(value) if isinstance(value, bool | int | float) else type(value).__name__


def _refuse(message: str, node: ValueNode | None = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": "BAD_USER_INPUT"})


def _string_literal(node: ValueNode, kind: str) -> str:
    if isinstance(node, StringValueNode):
        return node.value
    raise _refuse(f"A {kind} is written as a string.", node)


# --- Date -------------------------------------------------------------------------------


def parse_date(value: object) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise _refuse(f"Expected a Date as YYYY-MM-DD, got {_shown(value)}.")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise _refuse(f"Expected a Date as YYYY-MM-DD, got {_shown(value)}: no such day.") from None
    if not MIN_DATE <= parsed <= MAX_DATE:
        raise _refuse(f"Dates run from {_DATE_RANGE}; got {_shown(value)}.")
    return parsed


def _parse_date_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> date:
    try:
        return parse_date(_string_literal(node, "Date"))
    except GraphQLError as error:
        raise _refuse(error.message, node) from None


DateScalar = ScalarDefinition(
    name="Date",
    description=f"A calendar day, YYYY-MM-DD (ISO 8601), from {_DATE_RANGE}.",
    specified_by_url=None,
    serialize=date.isoformat,
    parse_value=parse_date,
    parse_literal=_parse_date_literal,
    origin=date,
)


# --- DateTime ---------------------------------------------------------------------------


def parse_datetime(value: object) -> datetime:
    """An aware UTC datetime from ISO 8601 text with its offset."""
    match = _DATETIME.fullmatch(value) if isinstance(value, str) else None
    if match is None or not isinstance(value, str):
        raise _refuse(
            "Expected a DateTime in ISO 8601 with its UTC offset, e.g. "
            f"{_DATETIME_EXAMPLE}; got {_shown(value)}."
        )
    if match["offset"] is None:
        raise _refuse(
            'A DateTime needs its UTC offset ("Z" or e.g. "+01:00") so it is one moment '
            f"everywhere; got {_shown(value)}."
        )
    offset = "+00:00" if match["offset"] in ("Z", "z") else match["offset"]
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}{offset}")
    except ValueError:
        raise _refuse(
            "Expected a DateTime in ISO 8601 with its UTC offset, e.g. "
            f"{_DATETIME_EXAMPLE}; got {_shown(value)}: no such moment."
        ) from None
    out_of_range = _refuse(f"Dates and times run from {_DATETIME_RANGE}; got {_shown(value)}.")
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise out_of_range from None
    if not MIN_DATETIME <= parsed <= MAX_DATETIME:
        raise out_of_range
    return parsed


def _parse_datetime_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> datetime:
    try:
        return parse_datetime(_string_literal(node, "DateTime"))
    except GraphQLError as error:
        raise _refuse(error.message, node) from None


def _serialize_datetime(value: datetime) -> str:
    return value.isoformat()


DateTimeScalar = ScalarDefinition(
    name="DateTime",
    description=(
        "A moment, ISO 8601 with its UTC offset (e.g. 2025-01-31T17:00:00Z or "
        f"2025-01-31T18:00:00+01:00), from {_DATETIME_RANGE}. Answers are in UTC."
    ),
    specified_by_url=None,
    serialize=_serialize_datetime,
    parse_value=parse_datetime,
    parse_literal=_parse_datetime_literal,
    origin=datetime,
)


# --- Decimal ----------------------------------------------------------------------------


def _decimal_from_text(text: str, shown: str) -> Decimal:
    digits = len(text) - text.startswith("-") - ("." in text)
    if not _DECIMAL.fullmatch(text) or digits > MAX_DECIMAL_DIGITS:
        raise _refuse(f"Expected a Decimal in {_DECIMAL_FORMAT}; got {shown}.")
    return Decimal(text)


def parse_decimal(value: object) -> Decimal:
    if isinstance(value, str):
        return _decimal_from_text(value, _shown(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return _decimal_from_text(str(value), _shown(value))
    if isinstance(value, float):
        raise _refuse(
            f'Send a Decimal as a string (e.g. "12.50") or a JSON integer; got {_shown(value)}, '
            "a JSON number with a fraction or exponent, which is read as a binary float and "
            "may not be the amount you meant."
        )
    raise _refuse(f'Expected a Decimal as a string (e.g. "12.50"); got {_shown(value)}.')


def _parse_decimal_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> Decimal:
    if isinstance(node, StringValueNode):
        text, shown = node.value, _shown(node.value)
    elif isinstance(node, IntValueNode | FloatValueNode):
        text, shown = node.value, node.value
    else:
        raise _refuse('Expected a Decimal as a string (e.g. "12.50") or a number.', node)
    try:
        return _decimal_from_text(text, shown)
    except GraphQLError as error:
        raise _refuse(error.message, node) from None


DecimalScalar = ScalarDefinition(
    name="Decimal",
    description=(
        'An exact decimal number as a string, e.g. "1234.56": ASCII digits, an optional '
        f'leading "-" and ".", at most {MAX_DECIMAL_DIGITS} digits; no exponent or '
        "separators. Variables may also give a JSON integer (never a float)."
    ),
    specified_by_url=None,
    serialize=str,
    parse_value=parse_decimal,
    parse_literal=_parse_decimal_literal,
    origin=Decimal,
)


SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    date: DateScalar,
    datetime: DateTimeScalar,
    Decimal: DecimalScalar,
}
"""For ``strawberry.Schema(scalar_overrides=...)``."""
