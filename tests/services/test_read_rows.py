"""Reads past the ORM (services.db: ``SerialAsyncSession.read``, ``read_rows``) run in
the session's own transaction: they see its pending changes (flushed first, as the ORM's
autoflush would), and a write rolled back is still undone although SQLite's no-op
rollbacks of read-only requests are skipped."""

from __future__ import annotations

from sqlmodel import col, select

from models.clients import Client
from services.db import read_rows
from services.unit_of_work import begin_write

NAMES = Client.__table__.c.name  # type: ignore[attr-defined]


async def test_a_read_sees_the_sessions_pending_changes(runtime, tenant):
    async with runtime.sessions() as session:
        await begin_write(session)
        session.add(Client(account_id=tenant.account_id, name="Pending Ltd"))
        rows = await read_rows(session, select(NAMES).where(NAMES == "Pending Ltd"))
        assert [row.name for row in rows] == ["Pending Ltd"]
        await session.rollback()
    async with runtime.sessions() as session:
        assert await read_rows(session, select(NAMES).where(NAMES == "Pending Ltd")) == []


async def test_a_write_rolled_back_is_undone_and_reads_go_on(runtime, tenant):
    async with runtime.sessions() as session:
        await begin_write(session)
        session.add(Client(account_id=tenant.account_id, name="Gone Ltd"))
        await session.flush()
        await session.rollback()
        # the same session reads on after the rollback, in autocommit on SQLite
        found = await session.exec(select(Client).where(col(Client.name) == "Gone Ltd"))
        assert found.all() == []
    async with runtime.sessions() as session:
        await begin_write(session)
        session.add(Client(account_id=tenant.account_id, name="Kept Ltd"))
        await session.commit()
    async with runtime.sessions() as session:
        rows = await read_rows(session, select(NAMES).where(NAMES.in_(["Gone Ltd", "Kept Ltd"])))
        assert [row.name for row in rows] == ["Kept Ltd"]
