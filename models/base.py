"""Field helpers every table uses, so ids, timestamps, money and tenancy look the same."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Enum, Index
from sqlmodel import Field

from models.types import ExactDecimal, UTCDateTime, new_id, utcnow


def id_field() -> Any:
    """A random UUID primary key."""
    return Field(default_factory=new_id, primary_key=True)


def account_fk() -> Any:
    """The tenant every row belongs to; every read filters on it."""
    return Field(foreign_key="account.id", index=True, ondelete="CASCADE")


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)


def updated_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def datetime_field(*, index: bool = False) -> Any:
    """An optional aware UTC datetime."""
    return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)


def money_field(default: Decimal | None = Decimal(0)) -> Any:
    """An exact amount (see :class:`models.types.ExactDecimal`)."""
    return Field(default=default, sa_type=ExactDecimal, nullable=default is None)


def enum_field(enum: type[Any], default: Any = None, *, index: bool = False) -> Any:
    """An enum stored as its name in a VARCHAR (no native database enum to migrate)."""
    return Field(
        default=default,
        sa_type=Enum(enum, native_enum=False, length=32, validate_strings=True),
        nullable=default is None,
        index=index,
    )


def list_order_index(table: str, scope: str = "account_id") -> Index:
    """The index a paginated list reads its pages through: the list's scope (the
    account; a webhook's deliveries: the endpoint), then the keyset order of
    :mod:`services.pagination` (``created_at``, ``id``; scanned backwards for newest
    first). Without it every page sorts the whole scope in a temporary B-tree."""
    return Index(f"ix_{table}_list_order", scope, "created_at", "id")


def client_order_index(table: str) -> Index:
    """:func:`list_order_index` for the lists a client's contacts page through most (the
    portal's landing query reads three of them): one client's rows in keyset order. The
    account's index made PostgreSQL walk the account's newest rows and drop the other
    clients' (1,163 rows for a page of 10 payments, 0.9 ms of the 5 ms landing query on
    the bench's account)."""
    return Index(f"ix_{table}_client_order", "client_id", "created_at", "id")
