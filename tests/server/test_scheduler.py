"""The scheduler loop the server runs, and ``portico run-scheduler``."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from models.accounts import Account
from models.clients import Client
from models.enums import Frequency, RecurringStatus
from models.invoices import Invoice
from models.recurring import RecurringInvoice, RecurringInvoiceLine
from server import cli
from server.scheduler import RecurringScheduler
from server.settings import get_settings
from services.db import create_engine, session_factory
from services.lines import LineData, build_lines

NOW = datetime.now(UTC)
TODAY = NOW.date()


async def seed_due_schedule(sessions, *, start=TODAY, frequency=Frequency.MONTHLY, slug="acme"):
    """An account with one client and one ACTIVE schedule due on ``start``."""
    async with sessions() as session:
        account = Account(name=slug.title(), slug=slug)
        session.add(account)
        await session.flush()
        client = Client(account_id=account.id, name="Acme Corp", currency="USD")
        session.add(client)
        await session.flush()
        recurring = RecurringInvoice(
            account_id=account.id,
            client_id=client.id,
            status=RecurringStatus.ACTIVE,
            currency="USD",
            frequency=frequency,
            start_date=start,
            next_send_date=start,
        )
        session.add(recurring)
        await session.flush()
        session.add_all(
            build_lines(
                RecurringInvoiceLine,
                "recurring_invoice_id",
                recurring,
                [LineData(description="Retainer", quantity=Decimal(1), unit_price=Decimal(90))],
            )
        )
        await session.commit()
    return recurring


async def invoice_periods(sessions, recurring_id):
    async with sessions() as session:
        rows = (
            await session.exec(select(Invoice).where(Invoice.recurring_invoice_id == recurring_id))
        ).all()
    return sorted(row.recurring_period for row in rows)


async def test_the_loop_issues_due_invoices_until_stopped(runtime):
    recurring = await seed_due_schedule(runtime.sessions)
    scheduler = RecurringScheduler(runtime, interval_seconds=0.05)
    # when the server starts the loop, the due invoice is issued on the first tick
    await scheduler.start()
    states = [scheduler.running]
    try:
        for _ in range(200):
            if await invoice_periods(runtime.sessions, recurring.id):
                break
            await asyncio.sleep(0.02)
        # and later ticks issue nothing more
        await asyncio.sleep(0.2)
    finally:
        await scheduler.stop()
    states.append(scheduler.running)
    assert states == [True, False]
    assert await invoice_periods(runtime.sessions, recurring.id) == [TODAY]
    # and stopping twice is harmless
    await scheduler.stop()


async def test_run_once_uses_the_given_time(runtime):
    recurring = await seed_due_schedule(runtime.sessions, frequency=Frequency.WEEKLY)
    scheduler = RecurringScheduler.from_runtime(runtime)
    result = await scheduler.run_once(NOW + timedelta(days=14))
    assert [item.period for item in result.issued] == [
        TODAY,
        TODAY + timedelta(days=7),
        TODAY + timedelta(days=14),
    ]
    assert len(await invoice_periods(runtime.sessions, recurring.id)) == 3


async def test_the_clock_decides_today_when_no_time_is_given(runtime):
    recurring = await seed_due_schedule(runtime.sessions, frequency=Frequency.WEEKLY)
    later = NOW + timedelta(days=7)
    scheduler = RecurringScheduler(runtime, clock=lambda: later)
    await scheduler.run_once()
    assert await invoice_periods(runtime.sessions, recurring.id) == [
        TODAY,
        TODAY + timedelta(days=7),
    ]


def test_the_interval_must_be_positive(runtime):
    with pytest.raises(ValueError, match="positive"):
        RecurringScheduler(runtime, interval_seconds=0)


def test_run_scheduler_once_from_the_command_line(tmp_path, sqlite_template, monkeypatch, capsys):
    # given a migrated database with one schedule due today
    path = tmp_path / "cli.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"

    async def seed():
        engine = create_engine(url)
        try:
            return await seed_due_schedule(session_factory(engine))
        finally:
            await engine.dispose()

    async def periods(recurring_id):
        engine = create_engine(url)
        try:
            return await invoice_periods(session_factory(engine), recurring_id)
        finally:
            await engine.dispose()

    recurring = asyncio.run(seed())
    monkeypatch.setenv("PORTICO_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        # when `portico run-scheduler --once` runs twice
        assert cli.main(["run-scheduler", "--once"]) == 0
        first = capsys.readouterr().out
        assert cli.main(["run-scheduler", "--once"]) == 0
        second = capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    # then the first issued the invoice and the second found nothing to do
    assert f"Issued 1 invoice(s) for {TODAY.isoformat()}" in first
    assert f"Issued 0 invoice(s) for {TODAY.isoformat()}" in second
    assert asyncio.run(periods(recurring.id)) == [TODAY]


async def test_the_servers_scheduler_mails_issued_invoices(smtp_runtime, smtp_server):
    """Like a sent invoice, an invoice issued by a schedule reaches the client's billing
    contact with a link that opens it."""
    from models.clients import Contact
    from models.enums import ContactRole

    recurring = await seed_due_schedule(smtp_runtime.sessions)
    async with smtp_runtime.sessions() as session:
        session.add(
            Contact(
                account_id=recurring.account_id,
                client_id=recurring.client_id,
                email="ap@acme.test",
                role=ContactRole.BILLING,
            )
        )
        await session.commit()
    scheduler = RecurringScheduler.from_runtime(smtp_runtime)
    run = await scheduler.run_once(NOW)
    assert len(run.issued) == 1
    await smtp_runtime.mailer.drain()
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == "ap@acme.test"
    text = mail.get_body(("plain",)).get_content()
    assert run.issued[0].number in text
    assert "/portal/acme/open?token=" in text
