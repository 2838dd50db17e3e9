"""Transactions on SQLite: writers marked with begin_write take the write lock at once;
any other transaction reads without locking and, if it writes after all, takes the lock
at that first write and waits for it - it never fails because another writer committed
after it read (as a deferred BEGIN that read first would)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlmodel import select

from models.accounts import Account
from services.unit_of_work import begin_write


async def test_a_writer_that_read_first_waits_for_another_writer_instead_of_failing(
    runtime, tenant
):
    # given a transaction that has read, not marked as a writer
    async with runtime.sessions() as reader, runtime.sessions() as writer:
        await reader.exec(text("SELECT count(*) FROM account"))
        # and another writer that commits a change meanwhile, then holds the lock a while
        await begin_write(writer)
        await writer.exec(text("UPDATE account SET name = 'First'"))
        await writer.commit()
        await begin_write(writer)
        await writer.exec(text("UPDATE account SET name = 'Second'"))

        async def release_soon():
            await asyncio.sleep(0.2)
            await writer.commit()

        releasing = asyncio.create_task(release_soon())
        # when the first transaction writes after all
        await reader.exec(text("UPDATE account SET currency = 'EUR'"))
        await reader.commit()
        await releasing
    # then both writes are there, one after the other
    async with runtime.sessions() as session:
        row = (await session.exec(text("SELECT name, currency FROM account"))).one()
    assert tuple(row) == ("Second", "EUR")


async def test_a_rolled_back_lazy_transaction_leaves_nothing(runtime, tenant):
    # given a transaction that writes without begin_write, then fails
    async with runtime.sessions() as session:
        await session.exec(text("UPDATE account SET name = 'Half'"))
        await session.exec(text("UPDATE account SET currency = 'EUR'"))
        await session.rollback()
    # then neither write is kept: it was one transaction from its first write
    async with runtime.sessions() as session:
        row = (await session.exec(text("SELECT name, currency FROM account"))).one()
    assert tuple(row) == ("Acme", "USD")


async def test_a_row_read_for_update_is_read_afresh_though_the_session_holds_it(runtime, tenant):
    # given a session that read the account (kept after its commit), changed by another
    async with runtime.sessions() as first, runtime.sessions() as other:
        held = (await first.exec(select(Account).where(Account.id == tenant.account_id))).one()
        name_before = held.name
        await first.commit()
        await begin_write(other)
        await other.exec(text("UPDATE account SET name = 'Changed'"))
        await other.commit()
        # when the first session reads it again without a lock: what it holds
        again = (await first.exec(select(Account).where(Account.id == tenant.account_id))).one()
        assert again.name == name_before
        await first.rollback()
        # then a locked read gives the row as it is now, in the same object
        await begin_write(first)
        locked = (
            await first.exec(
                select(Account).where(Account.id == tenant.account_id).with_for_update()
            )
        ).one()
        assert locked is held
        assert locked.name == "Changed"
        await first.rollback()
