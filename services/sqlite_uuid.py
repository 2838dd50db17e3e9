"""UUIDs read back from SQLite without ``uuid.UUID``'s parsing.

SQLite has no UUID type: SQLAlchemy's ``Uuid`` stores ``value.hex`` (32 hex digits) and
reads each back with ``uuid.UUID(value)``, whose ``__init__`` strips braces, dashes and
``urn:uuid:`` prefixes, checks the length and sets two attributes through
``object.__setattr__`` — a dozen Python-level steps a value. A page of 100 invoices with
their lines and clients reads some 900 ids. :class:`HexUuid` makes the same object from
the 32 digits directly (anything else goes through ``uuid.UUID`` as before, errors
included); :func:`install` has the SQLite dialect use it for every ``Uuid`` column.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.types import Uuid

_new = object.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def uuid_from_hex(value: str | None) -> uuid.UUID | None:
    """``uuid.UUID(value)`` for a stored id (32 hex digits)."""
    if value is None:
        return None
    if len(value) != 32:  # pragma: no cover - what SQLAlchemy wrote is always 32 digits
        return uuid.UUID(value)
    made: uuid.UUID = _new(uuid.UUID)
    _set(made, "int", int(value, 16))
    _set(made, "is_safe", _UNKNOWN)
    return made


class HexUuid(Uuid[Any]):
    """SQLAlchemy's ``Uuid`` (as UUID objects, stored as hex), read back by
    :func:`uuid_from_hex`."""

    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        stock = super().result_processor(dialect, coltype)  # type: ignore[no-untyped-call]
        if self.as_uuid and stock is not None:  # character-based: stored as hex
            return uuid_from_hex
        return stock


def install(dialect: Dialect) -> None:
    """Have ``dialect`` (SQLite's) read ``Uuid`` columns as :class:`HexUuid`."""
    dialect.colspecs = {**dialect.colspecs, Uuid: HexUuid}
