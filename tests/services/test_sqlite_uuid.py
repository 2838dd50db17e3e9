"""Ids read back from SQLite (services.sqlite_uuid): the same ``uuid.UUID`` objects as
``uuid.UUID(hex)`` makes, for every ``Uuid`` column, through a real engine."""

from __future__ import annotations

import pickle
import uuid

from sqlalchemy import Column, MetaData, Table, insert, select
from sqlalchemy.types import Uuid

from services.db import create_engine
from services.sqlite_uuid import HexUuid, uuid_from_hex


def test_an_id_made_from_its_hex_is_the_uuid_it_was() -> None:
    for original in (uuid.uuid4(), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)):
        made = uuid_from_hex(original.hex)
        assert type(made) is uuid.UUID
        assert made == original
        assert hash(made) == hash(original)
        assert str(made) == str(original)
        assert made.hex == original.hex
        assert made.is_safe is uuid.SafeUUID.unknown
        assert pickle.loads(pickle.dumps(made)) == original  # noqa: S301 - our own bytes
        assert {made: 1}[original] == 1
    assert uuid_from_hex(None) is None


async def test_sqlite_reads_every_uuid_column_through_it(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ids.sqlite3'}")
    table = Table(
        "things",
        MetaData(),
        Column("id", Uuid, primary_key=True),
        Column("other", Uuid, nullable=True),
    )
    ids = [uuid.uuid4() for _ in range(3)]
    try:
        async with engine.begin() as connection:
            await connection.run_sync(table.metadata.create_all)
            await connection.execute(
                insert(table),
                [{"id": one, "other": None if n else one} for n, one in enumerate(ids)],
            )
            rows = (await connection.execute(select(table).order_by(table.c.id))).all()
        assert type(table.c.id.type.dialect_impl(engine.dialect)) is HexUuid
    finally:
        await engine.dispose()
    assert sorted(ids) == [row.id for row in rows]
    assert all(type(row.id) is uuid.UUID for row in rows)
    assert [row.other for row in rows if row.other is not None] == [ids[0]]
