"""Property-based tests (hypothesis) of the money invariants under Stripe's word, on
SQLite and PostgreSQL.

Each example opens an account (tests/services/test_money_invariants.py: one client in a
currency of 0, 2 or 3 decimals, a few sent invoices) and plays a random sequence of:
card payments started from the portal, Stripe charging them (or a card failing),
refunds made at Stripe (partial, some in events listing them, some in events giving only
the total), disputes opened and closed won or lost — each change at Stripe queues its
event, and the events are delivered through the store-once webhook path in any order,
any number of times (redeliveries are the same event id, or Stripe's next event of the
same state) — interleaved with manual payments and refunds by staff.

After every step the money invariants hold (``check_invariants``: an invoice's balance
is its total less the payments applied to it, refunds given back; never negative; PAID
exactly when nothing is owed; a disputed payment counts, a charged-back one does not).
At the end, every event is delivered once more in a random order, and Portico agrees with
Stripe: each charged payment is refunded exactly what Stripe refunded, disputed while a
dispute is open, charged back when one was lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from models.enums import PaymentMethodKind, PaymentStatus
from models.payments import Payment
from services import payments
from services.errors import PorticoError
from services.payments import portal as portal_payments
from services.stripe_gateway.amounts import from_minor_units, to_minor_units
from services.stripe_gateway.charges import NotYet
from services.stripe_gateway.webhooks import handle_event
from tests.services.test_money_invariants import (
    Ledger,
    check_invariants,
    draw_shares,
    draw_units,
    open_account,
    read_state,
)
from tests.stripe import events

STEPS = (
    *("card",) * 3,
    *("charge",) * 3,
    "decline",
    *("refund",) * 3,
    *("dispute",) * 3,
    *("close",) * 3,
    *("deliver",) * 6,
    "manual",
    "manual_refund",
)
"""Weighted: Stripe's changes and their deliveries are most of a sequence."""


@dataclass
class Charge:
    """Stripe's side of one card payment: what Stripe did, whatever Portico heard."""

    payment_id: uuid.UUID
    intent: str
    charge: str
    units: int
    currency: str
    succeeded: bool = False
    refunds: list[dict[str, Any]] = field(default_factory=list)
    dispute: dict[str, Any] | None = None

    @property
    def refunded(self) -> int:
        return sum(r["amount"] for r in self.refunds)

    def intent_object(self, status: str) -> dict[str, Any]:
        return {
            "id": self.intent,
            "object": "payment_intent",
            "amount": self.units,
            "currency": self.currency,
            "status": status,
            "metadata": {"portico_payment_id": str(self.payment_id)},
            "latest_charge": self.charge,
        }


@dataclass
class Stripe:
    charges: list[Charge] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    """Every event Stripe made, in order; any may be delivered, again and again."""

    def emit(self, kind: str, obj: dict[str, Any]) -> None:
        self.sent.append(events.event(kind, obj))
        event(f"stripe {kind} {obj.get('status', '')}")


async def deliver(runtime: Any, ledger: Ledger, stripe_event: dict[str, Any]) -> str:
    try:
        return await handle_event(runtime, ledger.staff.account_id, stripe_event)
    except NotYet:
        return "not yet"


async def start_card_payment(
    runtime: Any, data: st.DataObject, ledger: Ledger, state: Any, stripe: Stripe
) -> None:
    chosen = data.draw(
        st.lists(st.sampled_from(ledger.invoices), min_size=1, max_size=2, unique=True),
        label="invoices",
    )
    paying: Decimal | None = None
    if data.draw(st.integers(0, 3), label="choose amount") == 0:
        due = sum((state.invoices[i].balance for i in chosen), Decimal(0))
        paying = draw_units(data, due or Decimal(1), ledger, "card amount")
    async with runtime.sessions() as session:
        started = await portal_payments.pay_invoices(
            session=session, contact=ledger.contact, invoice_ids=chosen, amount=paying
        )
        payment = await session.get(Payment, started.payment.id)
        assert payment is not None
        intent = events.stripe_id("pi")
        payment.provider, payment.provider_payment_id = "stripe", intent
        units = to_minor_units(payment.amount, payment.currency)
        await session.commit()
    ledger.payments.append(payment.id)
    stripe.charges.append(
        Charge(payment.id, intent, events.stripe_id("ch"), units, ledger.currency.lower())
    )


def possible(stripe: Stripe, ledger: Ledger, state: Any) -> list[str]:
    """The steps that can do something now (weighted as in :data:`STEPS`)."""
    paid = [c for c in stripe.charges if c.succeeded]
    can = {
        "card": True,
        "charge": any(not c.succeeded for c in stripe.charges),
        "decline": any(not c.succeeded for c in stripe.charges),
        "refund": any(c.dispute is None and c.refunded < c.units for c in paid),
        "dispute": any(c.dispute is None and c.refunded < c.units for c in paid),
        "close": any(c.dispute and c.dispute["status"] == "needs_response" for c in paid),
        "deliver": bool(stripe.sent),
        "manual": True,
        "manual_refund": any(state.payments[p].provider is None for p in ledger.payments),
    }
    return [step for step in STEPS if can[step]]


def stripe_change(data: st.DataObject, stripe: Stripe, step: str) -> None:
    """Something happens at Stripe; its event is queued (not delivered yet)."""
    waiting = [c for c in stripe.charges if not c.succeeded]
    paid = [c for c in stripe.charges if c.succeeded]
    if step in ("charge", "decline") and waiting:
        charge = data.draw(st.sampled_from(waiting), label="intent")
        if step == "charge":
            charge.succeeded = True
            stripe.emit("payment_intent.succeeded", charge.intent_object("succeeded"))
        else:
            stripe.emit(
                "payment_intent.payment_failed", charge.intent_object("requires_payment_method")
            )
    refundable = [c for c in paid if c.dispute is None and c.refunded < c.units]
    if step == "refund" and refundable:
        charge = data.draw(st.sampled_from(refundable), label="charge")
        units = data.draw(st.integers(1, charge.units - charge.refunded), label="refund")
        charge.refunds.insert(0, events.refund(charge.charge, charge.intent, units))  # newest first
        listed = data.draw(st.booleans(), label="listed")
        stripe.emit(
            "charge.refunded",
            events.charge(
                charge.charge,
                charge.intent,
                charge.units,
                refunds=[dict(r) for r in charge.refunds],
                listed=listed,
                currency=charge.currency,
            ),
        )
    disputable = [c for c in paid if c.dispute is None and c.refunded < c.units]
    if step == "dispute" and disputable:
        charge = data.draw(st.sampled_from(disputable), label="charge")
        charge.dispute = events.dispute(
            charge.charge, charge.intent, charge.units - charge.refunded, currency=charge.currency
        )
        stripe.emit("charge.dispute.created", dict(charge.dispute))
    open_disputes = [c for c in paid if c.dispute and c.dispute["status"] == "needs_response"]
    if step == "close" and open_disputes:
        charge = data.draw(st.sampled_from(open_disputes), label="charge")
        assert charge.dispute is not None
        charge.dispute = {**charge.dispute, "status": data.draw(st.sampled_from(("lost", "won")))}
        stripe.emit("charge.dispute.closed", dict(charge.dispute))


async def staff_step(
    runtime: Any, data: st.DataObject, ledger: Ledger, state: Any, step: str
) -> None:
    async with runtime.sessions() as session:
        try:
            if step == "manual":
                amount = draw_units(data, Decimal(300), ledger, "manual")
                payment = await payments.record_payment(
                    session=session,
                    actor=ledger.staff,
                    data=payments.PaymentData(
                        client_id=ledger.contact.client_id,
                        amount=amount,
                        method=PaymentMethodKind.CASH,
                        allocations=draw_shares(data, ledger, state, amount),
                    ),
                )
                ledger.payments.append(payment.id)
            else:
                manual = [p for p in ledger.payments if state.payments[p].provider is None]
                if not manual:
                    return
                payment_id = data.draw(st.sampled_from(manual), label="payment")
                row = state.payments[payment_id]
                await payments.refund_payment(
                    session=session,
                    actor=ledger.staff,
                    payment_id=payment_id,
                    amount=draw_units(
                        data, (row.amount - row.refunded_amount) or row.amount, ledger, "back"
                    ),
                )
        except PorticoError:
            await session.rollback()
            event(f"{step} refused")
        else:
            await session.commit()


def agrees_with_stripe(state: Any, stripe: Stripe) -> None:
    for charge in stripe.charges:
        payment = state.payments[charge.payment_id]
        if not charge.succeeded:
            assert payment.status in (PaymentStatus.PENDING, PaymentStatus.FAILED)
            continue
        assert payment.refunded_amount == from_minor_units(charge.refunded, payment.currency)
        status = charge.dispute["status"] if charge.dispute else None
        if status == "lost":
            assert payment.status is PaymentStatus.CHARGED_BACK
        elif status == "needs_response":
            assert payment.status is PaymentStatus.DISPUTED
        else:
            assert payment.status in payments.SETTLED_STATUSES
            assert payment.status is not PaymentStatus.DISPUTED


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_money_invariants_hold_under_stripes_events_in_any_order(runtime, data):
    ledger = await open_account(runtime, data)
    stripe = Stripe()
    delivered: set[str] = set()
    state = await read_state(runtime, ledger)
    for _ in range(data.draw(st.integers(8, 20), label="steps")):
        step = data.draw(st.sampled_from(possible(stripe, ledger, state)), label="step")
        if step == "card":
            try:
                await start_card_payment(runtime, data, ledger, state, stripe)
            except PorticoError as error:
                event(f"card refused: {error.message}")
        elif step == "deliver" and stripe.sent:
            fresh = [e for e in stripe.sent if e["id"] not in delivered]
            pool = fresh if fresh and data.draw(st.integers(0, 2), label="fresh") else stripe.sent
            chosen = data.draw(st.sampled_from(pool), label="event")
            delivered.add(chosen["id"])
            if data.draw(st.booleans(), label="as a new event"):
                chosen = {**chosen, "id": events.stripe_id("evt")}  # Stripe's next, same state
            outcome = await deliver(runtime, ledger, chosen)
            event(f"deliver {chosen['type']}: {outcome.split(':')[0]}")
        elif step in ("manual", "manual_refund"):
            await staff_step(runtime, data, ledger, state, step)
        else:
            stripe_change(data, stripe, step)
        state = await read_state(runtime, ledger)
        check_invariants(state, ledger.currency)
    # when every event is delivered once more, in any order (twice: a dispute waits for
    # its payment's success)
    for _ in range(2):
        for stripe_event in data.draw(st.permutations(stripe.sent), label="final order"):
            outcome = await deliver(runtime, ledger, stripe_event)
            event(f"finally {stripe_event['type']}: {outcome.split(':')[0]}")
    state = await read_state(runtime, ledger)
    check_invariants(state, ledger.currency)
    agrees_with_stripe(state, stripe)
