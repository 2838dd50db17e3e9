"""Transactions on SQLite: writers marked with begin_write take the write lock at once;
any other transaction reads without locking and, if it writes after all, takes the lock
at that first write and waits for it - it never fails because another writer committed
after it read (as a deferred BEGIN that read first would)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

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
