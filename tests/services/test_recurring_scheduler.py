"""The recurring-invoice job: one invoice per period, catch-up after downtime, cycles,
pause and resume, auto-bill marking, and exactly-once across several instances."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from models.activity import Activity
from models.enums import (
    ActorKind,
    AutoBill,
    Frequency,
    InvoiceStatus,
    RecurringStatus,
    StaffRole,
)
from models.invoices import Invoice, InvoiceLine
from models.recurring import RecurringInvoice, RecurringInvoiceLine
from services import recurring as service
from services.clients import ClientData, archive_client, create_client
from services.db import create_engine
from services.lines import LineData, build_lines
from services.recurring import RecurringData
from services.recurring.periods import add_months
from services.recurring.scheduler import generate_due_invoices
from services.runtime import Runtime

TODAY = datetime.now(UTC).date()


def lines():
    return [
        LineData(description="Retainer", quantity=Decimal(1), unit_price=Decimal("800.00")),
        LineData(
            description="Hosting",
            quantity=Decimal(1),
            unit_price=Decimal("149.00"),
            tax_rate=Decimal("8.875"),
            tax_name="NY",
        ),
    ]


async def new_client(runtime, tenant, name="Acme Corp"):
    async with runtime.sessions() as session:
        client = await create_client(
            session=session, actor=tenant.principals[StaffRole.ADMIN], data=ClientData(name=name)
        )
        await session.commit()
    return client


async def started(runtime, tenant, client_id, **fields):
    """A schedule created and started through the services (start date: today)."""
    fields.setdefault("lines", lines())
    admin = tenant.principals[StaffRole.ADMIN]
    async with runtime.sessions() as session:
        recurring = await service.create_recurring_invoice(
            session=session,
            actor=admin,
            data=RecurringData(client_id=client_id, remaining_cycles_given=True, **fields),
        )
        recurring = await service.start_recurring_invoice(
            session=session, actor=admin, recurring_invoice_id=recurring.id
        )
        await session.commit()
    return recurring


async def seeded(runtime, tenant, client_id, start, frequency=Frequency.MONTHLY, **fields):
    """An ACTIVE schedule whose start date lies in the past (the API refuses those: this is
    how a schedule looks after the scheduler did not run since ``start``)."""
    async with runtime.sessions() as session:
        recurring = RecurringInvoice(
            account_id=tenant.account_id,
            client_id=client_id,
            status=RecurringStatus.ACTIVE,
            currency="USD",
            frequency=frequency,
            start_date=start,
            next_send_date=start,
            **fields,
        )
        session.add(recurring)
        await session.flush()
        session.add_all(
            build_lines(RecurringInvoiceLine, "recurring_invoice_id", recurring, lines())
        )
        await session.commit()
    return recurring


async def issued(runtime, recurring_id):
    async with runtime.sessions() as session:
        rows = (
            await session.exec(
                select(Invoice)
                .where(Invoice.recurring_invoice_id == recurring_id)
                .order_by(col(Invoice.recurring_period))
            )
        ).all()
    return list(rows)


async def reload(runtime, recurring_id):
    async with runtime.sessions() as session:
        return await session.get(RecurringInvoice, recurring_id)


async def run(runtime, today):
    return await generate_due_invoices(runtime, today=today)


async def test_catch_up_issues_every_missed_period_oldest_first(runtime, tenant):
    # given a monthly schedule started today, 12 cycles, 14 days to pay
    client = await new_client(runtime, tenant)
    recurring = await started(
        runtime, tenant, client.id, frequency=Frequency.MONTHLY, remaining_cycles=12, due_days=14
    )
    periods = [TODAY, add_months(TODAY, 1), add_months(TODAY, 2)]
    # when the scheduler first runs two months later (it was down all that time)
    result = await run(runtime, periods[2])
    # then each of the 3 periods got its own invoice, oldest first, numbered in a row
    invoices = await issued(runtime, recurring.id)
    assert [i.recurring_period for i in invoices] == periods
    assert [i.number for i in invoices] == ["INV-0001", "INV-0002", "INV-0003"]
    assert [(i.number, i.period) for i in result.issued] == [
        ("INV-0001", periods[0]),
        ("INV-0002", periods[1]),
        ("INV-0003", periods[2]),
    ]
    # and each is sent, dated as it would have been on time, due 14 days later
    for invoice, period in zip(invoices, periods, strict=True):
        assert invoice.status is InvoiceStatus.SENT
        assert invoice.sent_at is not None
        assert (invoice.issue_date, invoice.due_date) == (period, period + timedelta(days=14))
        assert (invoice.client_id, invoice.currency) == (client.id, "USD")
        assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
            Decimal("949.00"),
            Decimal("13.22"),
            Decimal("962.22"),
        )
    # and the lines were copied
    async with runtime.sessions() as session:
        copied = (
            await session.exec(
                select(InvoiceLine)
                .where(InvoiceLine.invoice_id == invoices[0].id)
                .order_by(col(InvoiceLine.position))
            )
        ).all()
    assert [(line.description, line.line_total) for line in copied] == [
        ("Retainer", Decimal("800.00")),
        ("Hosting", Decimal("162.22")),
    ]
    # and the schedule moved on to the 4th period with 9 cycles left
    after = await reload(runtime, recurring.id)
    assert after.status is RecurringStatus.ACTIVE
    assert after.next_send_date == add_months(TODAY, 3)
    assert after.remaining_cycles == 9
    assert after.last_sent_at is not None


async def test_the_system_is_recorded_as_the_actor(runtime, tenant):
    client = await new_client(runtime, tenant)
    recurring = await started(runtime, tenant, client.id)
    await run(runtime, TODAY)
    (invoice,) = await issued(runtime, recurring.id)
    async with runtime.sessions() as session:
        entries = (
            await session.exec(
                select(Activity).where(
                    col(Activity.subject_id).in_([invoice.id, recurring.id]),
                    col(Activity.actor_kind) == ActorKind.SYSTEM,
                )
            )
        ).all()
    verbs = sorted(entry.verb for entry in entries)
    assert verbs == ["invoice.created", "invoice.sent", "recurring_invoice.generated"]
    assert all(entry.actor_id is None for entry in entries)
    sent = next(entry for entry in entries if entry.verb == "invoice.sent")
    assert sent.visible_to_client
    assert sent.details["number"] == "INV-0001"


async def test_running_twice_the_same_day_issues_nothing_twice(runtime, tenant):
    client = await new_client(runtime, tenant)
    recurring = await started(runtime, tenant, client.id, frequency=Frequency.WEEKLY)
    first = await run(runtime, TODAY)
    second = await run(runtime, TODAY)
    assert len(first.issued) == 1
    assert second.issued == []
    assert len(await issued(runtime, recurring.id)) == 1
    # and a day later still nothing, until the next week comes
    assert (await run(runtime, TODAY + timedelta(days=6))).issued == []
    assert len((await run(runtime, TODAY + timedelta(days=7))).issued) == 1


async def test_the_last_cycle_completes_the_schedule(runtime, tenant):
    client = await new_client(runtime, tenant)
    recurring = await started(
        runtime, tenant, client.id, frequency=Frequency.TWO_WEEKS, remaining_cycles=2
    )
    # when the scheduler runs long after both cycles
    result = await run(runtime, TODAY + timedelta(days=70))
    # then exactly 2 invoices were issued and the schedule is completed
    assert [item.period for item in result.issued] == [TODAY, TODAY + timedelta(days=14)]
    after = await reload(runtime, recurring.id)
    assert (after.status, after.remaining_cycles, after.next_send_date) == (
        RecurringStatus.COMPLETED,
        0,
        None,
    )
    assert (await run(runtime, TODAY + timedelta(days=400))).issued == []
    assert service.upcoming_send_dates(after, 3) == []


async def test_an_indefinite_schedule_never_completes(runtime, tenant):
    client = await new_client(runtime, tenant)
    recurring = await started(runtime, tenant, client.id, frequency=Frequency.YEARLY)
    result = await run(runtime, add_months(TODAY, 12 * 5))
    assert len(result.issued) == 6
    after = await reload(runtime, recurring.id)
    assert (after.status, after.remaining_cycles) == (RecurringStatus.ACTIVE, None)
    assert after.next_send_date == add_months(TODAY, 12 * 6)


async def test_month_end_anchoring_holds_through_catch_up(runtime, tenant):
    # given a monthly schedule from Jan 31 2024 that was never run
    client = await new_client(runtime, tenant)
    recurring = await seeded(runtime, tenant, client.id, date(2024, 1, 31))
    # when the scheduler runs on Apr 30
    await run(runtime, date(2024, 4, 30))
    # then the periods are the month ends, never drifting to the 29th
    invoices = await issued(runtime, recurring.id)
    assert [i.recurring_period for i in invoices] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]
    assert (await reload(runtime, recurring.id)).next_send_date == date(2024, 5, 31)


async def test_pause_stops_issuing_and_resume_skips_the_paused_periods(runtime, tenant):
    admin = tenant.principals[StaffRole.ADMIN]
    client = await new_client(runtime, tenant)
    recurring = await started(runtime, tenant, client.id, frequency=Frequency.WEEKLY)
    await run(runtime, TODAY)
    # when it is paused, the following weeks issue nothing
    async with runtime.sessions() as session:
        paused = await service.pause_recurring_invoice(
            session=session, actor=admin, recurring_invoice_id=recurring.id
        )
        await session.commit()
    assert (paused.status, paused.next_send_date) == (RecurringStatus.PAUSED, None)
    assert (await run(runtime, TODAY + timedelta(days=21))).issued == []
    # when it is resumed on day 24, it continues with the next period (day 28), and the
    # weeks 7, 14 and 21 that fell while paused are not issued late
    async with runtime.sessions() as session:
        resumed = await service.resume_recurring_invoice(
            session=session,
            actor=admin,
            recurring_invoice_id=recurring.id,
            today=TODAY + timedelta(days=24),
        )
        await session.commit()
    assert resumed.status is RecurringStatus.ACTIVE
    assert resumed.next_send_date == TODAY + timedelta(days=28)
    assert (await run(runtime, TODAY + timedelta(days=27))).issued == []
    await run(runtime, TODAY + timedelta(days=28))
    assert [i.recurring_period for i in await issued(runtime, recurring.id)] == [
        TODAY,
        TODAY + timedelta(days=28),
    ]


async def test_resuming_on_an_issued_period_continues_after_it(runtime, tenant):
    # given a period issued today, then a pause and a resume the same day
    admin = tenant.principals[StaffRole.ADMIN]
    client = await new_client(runtime, tenant)
    recurring = await started(runtime, tenant, client.id, frequency=Frequency.MONTHLY)
    await run(runtime, TODAY)
    async with runtime.sessions() as session:
        await service.pause_recurring_invoice(
            session=session, actor=admin, recurring_invoice_id=recurring.id
        )
        resumed = await service.resume_recurring_invoice(
            session=session, actor=admin, recurring_invoice_id=recurring.id
        )
        await session.commit()
    # then today's period is not issued again: the next one is next month's
    assert resumed.next_send_date == add_months(TODAY, 1)
    assert (await run(runtime, TODAY)).issued == []


async def test_an_existing_invoice_for_a_period_is_never_duplicated(runtime, tenant):
    # given an invoice that already exists for the first period (however it got there)
    client = await new_client(runtime, tenant)
    recurring = await seeded(runtime, tenant, client.id, TODAY, frequency=Frequency.WEEKLY)
    async with runtime.sessions() as session:
        session.add(
            Invoice(
                account_id=tenant.account_id,
                client_id=client.id,
                currency="USD",
                recurring_invoice_id=recurring.id,
                recurring_period=TODAY,
            )
        )
        await session.commit()
    # when the scheduler runs a week later
    result = await run(runtime, TODAY + timedelta(days=7))
    # then only the second period is issued, and the schedule is past both
    assert [item.period for item in result.issued] == [TODAY + timedelta(days=7)]
    assert len(await issued(runtime, recurring.id)) == 2
    after = await reload(runtime, recurring.id)
    assert after.next_send_date == TODAY + timedelta(days=14)


@pytest.mark.parametrize(
    ("policy", "client_choice", "charged"),
    [
        (AutoBill.OFF, False, False),
        (AutoBill.ALWAYS, False, True),
        (AutoBill.OPT_IN, False, False),
        (AutoBill.OPT_IN, True, True),
        (AutoBill.OPT_OUT, True, True),
        (AutoBill.OPT_OUT, False, False),
    ],
)
async def test_auto_bill_marks_the_issued_invoice_for_charging(
    runtime, tenant, policy, client_choice, charged
):
    client = await new_client(runtime, tenant)
    await seeded(
        runtime, tenant, client.id, TODAY, auto_bill=policy, auto_bill_enabled=client_choice
    )
    result = await run(runtime, TODAY)
    (item,) = result.issued
    assert item.charge_automatically is charged
    assert [i.invoice_id for i in result.to_charge] == ([item.invoice_id] if charged else [])
    # and nothing was charged: the invoice is sent and unpaid
    async with runtime.sessions() as session:
        invoice = await session.get(Invoice, item.invoice_id)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.SENT, Decimal(0))


async def test_an_archived_clients_schedule_is_paused_not_invoiced(runtime, tenant):
    client = await new_client(runtime, tenant)
    recurring = await started(runtime, tenant, client.id)
    async with runtime.sessions() as session:
        await archive_client(
            session=session, actor=tenant.principals[StaffRole.ADMIN], client_id=client.id
        )
        await session.commit()
    result = await run(runtime, TODAY)
    assert result.issued == []
    assert await issued(runtime, recurring.id) == []
    after = await reload(runtime, recurring.id)
    assert (after.status, after.next_send_date) == (RecurringStatus.PAUSED, None)


async def test_schedules_of_other_accounts_run_with_their_own_numbers(runtime, tenant, make_tenant):
    other = await make_tenant("globex")
    mine = await started(runtime, tenant, (await new_client(runtime, tenant)).id)
    theirs = await started(runtime, other, (await new_client(runtime, other, "Globex")).id)
    await run(runtime, TODAY)
    assert [i.number for i in await issued(runtime, mine.id)] == ["INV-0001"]
    assert [i.number for i in await issued(runtime, theirs.id)] == ["INV-0001"]
    assert (await issued(runtime, theirs.id))[0].account_id == other.account_id


# --- several instances at once --------------------------------------------------------


async def test_concurrent_instances_issue_each_period_exactly_once(runtime, tenant, backend):
    # given 8 schedules of one account, each 3 weekly periods behind
    client = await new_client(runtime, tenant)
    schedules = [
        await seeded(
            runtime, tenant, client.id, TODAY - timedelta(days=14), frequency=Frequency.WEEKLY
        )
        for _ in range(8)
    ]
    # when 4 server instances (each its own engine and pool) run the job at the same time
    engines = [create_engine(backend.url, **backend.engine_kwargs) for _ in range(4)]
    try:
        results = await asyncio.gather(
            *(
                generate_due_invoices(Runtime.build(runtime.settings, engine), today=TODAY)
                for engine in engines
            )
        )
        # and once more afterwards, all together again
        again = await asyncio.gather(
            *(
                generate_due_invoices(Runtime.build(runtime.settings, engine), today=TODAY)
                for engine in engines
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()
    # then every period of every schedule has exactly one invoice
    expected = {(s.id, TODAY - timedelta(days=14 - 7 * k)) for s in schedules for k in range(3)}
    async with runtime.sessions() as session:
        rows = (
            await session.exec(select(Invoice).where(Invoice.account_id == tenant.account_id))
        ).all()
    assert len(rows) == 24
    assert {(row.recurring_invoice_id, row.recurring_period) for row in rows} == expected
    # and the runs together reported each invoice once, and nothing failed
    reported = [item.invoice_id for result in results for item in result.issued]
    assert sorted(reported) == sorted(row.id for row in rows)
    assert all(not r.failed and not r.conflicts for r in results)
    assert all(r.issued == [] for r in again)
    # and the numbers are gap-free, each schedule's three in a row
    assert sorted(row.number for row in rows) == [f"INV-{n:04d}" for n in range(1, 25)]
    for schedule in schedules:
        numbers = sorted(
            int(row.number[4:]) for row in rows if row.recurring_invoice_id == schedule.id
        )
        assert numbers == list(range(numbers[0], numbers[0] + 3))
        assert (await reload(runtime, schedule.id)).next_send_date == TODAY + timedelta(days=7)


@pytest.mark.postgres_only
async def test_a_schedule_locked_by_another_instance_is_skipped_not_awaited(
    runtime, tenant, backend
):
    if backend.name != "postgres":
        pytest.skip("SKIP LOCKED: PostgreSQL only (on SQLite a run waits for the write lock)")
    client = await new_client(runtime, tenant)
    recurring = await seeded(runtime, tenant, client.id, TODAY)
    # given another instance holding the schedule's row lock
    async with runtime.sessions() as holder, holder.begin():
        await holder.exec(
            select(RecurringInvoice).where(RecurringInvoice.id == recurring.id).with_for_update()
        )
        # when this instance runs meanwhile, it skips the schedule at once
        engine = create_engine(backend.url, **backend.engine_kwargs)
        try:
            result = await asyncio.wait_for(
                generate_due_invoices(Runtime.build(runtime.settings, engine), today=TODAY),
                timeout=10,
            )
        finally:
            await engine.dispose()
        assert (result.issued, result.skipped) == ([], 1)
    # and once the lock is gone, the next run issues the period
    assert len((await run(runtime, TODAY)).issued) == 1
