"""A schedule's `nextSendDate` and its `upcomingDates` come from one function: the first
upcoming date is always the next send date, and each following one is the date the
scheduler moves the next send date to once it has issued the previous period."""

import uuid
from datetime import date, timedelta

import pytest

from models.recurring import RecurringInvoice
from services.recurring.periods import add_months
from tests.schema.test_recurring import (
    TODAY,
    UPCOMING,
    portal_client,
    run_scheduler,
    started,
)

FREQUENCIES = ["WEEKLY", "TWO_WEEKS", "MONTHLY", "THREE_MONTHS", "YEARLY"]


def next_month_end() -> date:
    """The last day of a 31-day month at least a day ahead (always within a few months)."""
    day = TODAY + timedelta(days=1)
    while True:
        end = add_months(date(day.year, day.month, 1), 1) - timedelta(days=1)
        if end.day == 31 and end >= day:
            return end
        day = end + timedelta(days=1)


async def dates(gql, tenant, recurring_id, count=4):
    data = await gql.data(UPCOMING, {"id": recurring_id, "count": count}, token=tenant.admin)
    schedule = data["recurringInvoice"]
    return schedule["nextSendDate"], schedule["upcomingDates"]


async def assert_scheduler_follows(gql, runtime, tenant, recurring_id):
    """The first upcoming date is the next send date, and issuing it moves the next send
    date to the second upcoming date, and so on."""
    next_send, upcoming = await dates(gql, tenant, recurring_id)
    assert len(upcoming) == 4
    assert upcoming[0] == next_send
    assert upcoming == sorted(set(upcoming))
    for expected in upcoming[1:]:
        await run_scheduler(runtime, date.fromisoformat(next_send))
        next_send, now_upcoming = await dates(gql, tenant, recurring_id)
        assert next_send == expected
        assert now_upcoming[0] == next_send
        assert (
            now_upcoming[: len(upcoming) - upcoming.index(expected)]
            == (upcoming[upcoming.index(expected) :])
        )


@pytest.mark.parametrize("frequency", FREQUENCIES)
async def test_a_schedule_starting_today(gql, runtime, tenant, frequency):
    client, _ = await portal_client(gql, runtime, tenant)
    recurring = await started(gql, tenant, client["id"], frequency=frequency)
    next_send, upcoming = await dates(gql, tenant, recurring["id"])
    assert next_send == upcoming[0] == TODAY.isoformat()
    await assert_scheduler_follows(gql, runtime, tenant, recurring["id"])


@pytest.mark.parametrize("frequency", FREQUENCIES)
async def test_a_schedule_starting_in_the_future(gql, runtime, tenant, frequency):
    start = TODAY + timedelta(days=10)
    client, _ = await portal_client(gql, runtime, tenant)
    recurring = await started(
        gql, tenant, client["id"], frequency=frequency, startDate=start.isoformat()
    )
    next_send, upcoming = await dates(gql, tenant, recurring["id"])
    assert next_send == upcoming[0] == start.isoformat()
    await assert_scheduler_follows(gql, runtime, tenant, recurring["id"])


@pytest.mark.parametrize("frequency", FREQUENCIES)
async def test_a_schedule_that_started_in_the_past(gql, runtime, tenant, frequency):
    # given a schedule that started today and that the scheduler caught up 40 days later
    client, _ = await portal_client(gql, runtime, tenant)
    recurring = await started(gql, tenant, client["id"], frequency=frequency)
    await run_scheduler(runtime, TODAY + timedelta(days=40))
    # then its next send date is after that day and is the first upcoming date
    next_send, upcoming = await dates(gql, tenant, recurring["id"])
    assert date.fromisoformat(next_send) > TODAY + timedelta(days=40)
    assert upcoming[0] == next_send
    await assert_scheduler_follows(gql, runtime, tenant, recurring["id"])


async def test_a_month_end_start_keeps_its_day(gql, runtime, tenant):
    start = next_month_end()
    client, _ = await portal_client(gql, runtime, tenant)
    recurring = await started(
        gql, tenant, client["id"], frequency="MONTHLY", startDate=start.isoformat()
    )
    next_send, upcoming = await dates(gql, tenant, recurring["id"], count=6)
    assert next_send == upcoming[0] == start.isoformat()
    assert upcoming == [add_months(start, n).isoformat() for n in range(6)]
    await assert_scheduler_follows(gql, runtime, tenant, recurring["id"])


@pytest.mark.parametrize("frequency", ["WEEKLY", "MONTHLY", "YEARLY"])
async def test_a_next_send_date_off_the_start_dates_anchor(gql, runtime, tenant, frequency):
    # given an active schedule whose stored next send date is not one of its periods (as
    # the demo data seeds it: 51 days after its start date)
    client, _ = await portal_client(gql, runtime, tenant)
    recurring = await started(gql, tenant, client["id"], frequency=frequency)
    off_anchor = TODAY + timedelta(days=51)
    async with runtime.sessions() as session:
        row = await session.get(RecurringInvoice, uuid.UUID(recurring["id"]))
        assert row is not None
        row.next_send_date = off_anchor
        await session.commit()
    # then the first upcoming date is that next send date, the day the scheduler issues
    next_send, upcoming = await dates(gql, tenant, recurring["id"])
    assert (next_send, upcoming[0]) == (off_anchor.isoformat(), off_anchor.isoformat())
    assert (await run_scheduler(runtime, off_anchor - timedelta(days=1))).issued == []
    await assert_scheduler_follows(gql, runtime, tenant, recurring["id"])
