"""Column types shared by every table: exact money, aware UTC datetimes, ids.

Money is stored as a scaled integer (``value * 10**SCALE``) on every database, so
SQLite and PostgreSQL hold the same exact value and ``SUM()`` works in SQL on both;
Python code only ever sees :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator

SCALE = 4
"""Decimal places every stored amount, quantity and rate keeps (ten-thousandths)."""

_FACTOR = Decimal(10) ** SCALE


def _scaled_decimal(value: Any) -> Decimal | None:
    """A stored amount (the scaled integer) as the exact ``Decimal``, 4 places."""
    if value is None:
        return None
    return Decimal(int(value)).scaleb(-SCALE)


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal stored as a scaled BIGINT; refuses values finer than :data:`SCALE`."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value) * _FACTOR
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {SCALE} decimal places")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return _scaled_decimal(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """:func:`_scaled_decimal` itself when the integer column needs no processing of
        its own (neither SQLite nor asyncpg does): one call a value, where
        ``TypeDecorator``'s processor wraps ``process_result_value`` in another (a page
        of invoices and their lines reads some 1,800 amounts)."""
        if self.impl_instance.result_processor(dialect, coltype) is None:
            return _scaled_decimal
        return super().result_processor(dialect, coltype)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite keeps no zone itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    """A random primary key: ids are not sequential, so they cannot be guessed or counted."""
    return uuid.uuid4()
