"""``cancelRecurringPrepayment`` under load and under bad input, on both databases: 15
cancels at once stop the pre-payment once (one ``recurring_prepayment.canceled``), each
answering it stopped or a clear CONFLICT / NOT_FOUND; bad ids, NUL bytes, another
client's or account's pre-payment are refused with a stable ``extensions.code`` and
write nothing; a cancel racing the scheduler leaves no cycle charged after it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from models.enums import StaffRole
from models.prepayments import RecurringPrepayment
from server.scheduler import RecurringScheduler
from services.runtime import Runtime
from tests.schema.test_payments import billing_setup
from tests.stripe.helpers import connect_stripe, methods_of, save_card
from tests.stripe.test_prepayment_retries import monthly_prepayment, prepayment, scheduler_payments
from tests.stripe.test_prepayments import CANCEL, PREPAY, code_of
from tests.stripe.test_refunds_disputes import verbs

CANCELED = "recurring_prepayment.canceled"
CANCEL_LITERAL = 'mutation { cancelRecurringPrepayment(id: "%s") { id status } }'


async def stored(runtime: Runtime, prepayment_id: str) -> RecurringPrepayment:
    async with runtime.sessions() as session:
        row = await session.get(RecurringPrepayment, uuid.UUID(prepayment_id))
    assert row is not None
    return row


def outcome(body: dict[str, Any]) -> str:
    """What one cancel answered: the status it shows, or its error's code."""
    if body.get("errors"):
        assert body.get("data") is None, body
        return code_of(body)
    return str(body["data"]["cancelRecurringPrepayment"]["status"])


async def test_15_concurrent_cancels_stop_the_prepayment_once(
    gql, tenant, runtime, client, localstripe
):
    # given a contact's monthly pre-payment
    contact, _due = await monthly_prepayment(gql, runtime, tenant, client, localstripe)
    prepayment_id = (await prepayment(gql, contact))["id"]
    # when staff and the contact cancel it 15 times at once
    tokens = [tenant.tokens[StaffRole.MANAGER], tenant.admin, contact] * 5
    answers = await asyncio.gather(
        *(gql(CANCEL, {"id": prepayment_id}, token=token) for token in tokens)
    )
    # then each saw it stopped (canceling again changes nothing) or a clear refusal
    outcomes = [outcome(body) for body in answers]
    assert set(outcomes) <= {"CANCELED", "CONFLICT", "NOT_FOUND"}, outcomes
    assert "CANCELED" in outcomes
    # and it was stopped once: one event, no next charge
    assert len(await verbs(runtime, CANCELED)) == 1
    row = await stored(runtime, prepayment_id)
    assert (row.status.value, row.next_charge_at) == ("CANCELED", None)


async def test_a_cancel_racing_the_scheduler_leaves_nothing_charged_after_it(
    gql, tenant, runtime, client, localstripe
):
    contact, due = await monthly_prepayment(gql, runtime, tenant, client, localstripe)
    prepayment_id = (await prepayment(gql, contact))["id"]
    scheduler = RecurringScheduler(runtime)
    # when the contact cancels while the scheduler charges the cycle that came due
    cancel = gql(CANCEL, {"id": prepayment_id}, token=contact)
    run, answer = await asyncio.gather(scheduler.run_once(now=due + timedelta(minutes=1)), cancel)
    assert outcome(answer) == "CANCELED"
    # then the cycle was charged at most once (if the scheduler claimed it first) ...
    charged = await scheduler_payments(runtime)
    assert len(charged) == run.prepayment_charges <= 1
    # ... and no later run charges anything
    for days in (1, 40, 80):
        await scheduler.run_once(now=due + timedelta(days=days))
    assert len(await scheduler_payments(runtime)) == len(charged)
    row = await stored(runtime, prepayment_id)
    assert (row.status.value, row.next_charge_at, row.next_attempt_at) == ("CANCELED", None, None)
    assert len(await verbs(runtime, CANCELED)) == 1


async def test_bad_cancels_are_refused_with_a_stable_code_and_write_nothing(
    gql, tenant, make_tenant, runtime, client, localstripe
):
    # given a contact's active pre-payment, another client's contact, a finished one-off
    # schedule, and another account
    contact, _due = await monthly_prepayment(gql, runtime, tenant, client, localstripe)
    active = (await prepayment(gql, contact))["id"]
    _other_client, neighbour = await billing_setup(gql, runtime, tenant)
    await save_card(gql, client, localstripe, tenant.account_id, neighbour)
    [card] = await methods_of(gql, neighbour)
    finished = (
        await gql.data(
            PREPAY,
            {
                "amount": "30.00",
                "recurring": {"frequency": "MONTHLY", "cycles": 1},
                "pm": card["id"],
            },
            token=neighbour,
        )
    )["makePrepayment"]["recurring"]
    assert finished["status"] == "COMPLETED"
    other = await make_tenant("globex")
    await connect_stripe(gql, other.admin)
    before = await stored(runtime, active)
    manager = tenant.tokens[StaffRole.MANAGER]
    cases: list[tuple[str, str, str, dict[str, str]]] = [
        ("not an id", manager, "nope", {"code": "BAD_USER_INPUT", "field": "id"}),
        ("empty", manager, "", {"code": "BAD_USER_INPUT", "field": "id"}),
        ("a NUL byte", manager, f"{active}\x00", {"code": "BAD_USER_INPUT", "field": "$id"}),
        ("only a NUL byte", contact, "\x00", {"code": "BAD_USER_INPUT", "field": "$id"}),
        ("an unknown id", manager, str(uuid.uuid4()), {"code": "NOT_FOUND"}),
        ("another account's admin", other.admin, active, {"code": "NOT_FOUND"}),
        ("another client's contact", neighbour, active, {"code": "NOT_FOUND"}),
        ("a finished one", manager, finished["id"], {"code": "CONFLICT"}),
    ]
    for what, token, prepayment_id, expected in cases:
        body = await gql(CANCEL, {"id": prepayment_id}, token=token)
        assert body.get("data") is None, (what, body)
        extensions = body["errors"][0]["extensions"]
        assert {k: extensions.get(k) for k in expected} == expected, (what, body)
    literal = await gql(CANCEL_LITERAL % f"{active}\\u0000", token=manager)
    assert literal["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # then nothing was written: still active, untouched, no cancellation recorded
    after = await stored(runtime, active)
    assert (after.status, after.updated_at, after.next_charge_at) == (
        before.status,
        before.updated_at,
        before.next_charge_at,
    )
    assert (await stored(runtime, finished["id"])).status.value == "COMPLETED"
    assert await verbs(runtime, CANCELED) == []
    # while the same cancel, well formed, works (so the refusals above were the input's)
    assert outcome(await gql(CANCEL, {"id": active}, token=manager)) == "CANCELED"
