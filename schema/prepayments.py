"""Pre-payments: a billing contact pays ahead (the money becomes the client's credit),
once or on a schedule."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import AutoBillStatus, Module, PrepaymentStatus
from models.prepayments import RecurringPrepayment as PrepaymentRow
from resolvers import prepayments as resolvers
from resolvers.context import Info
from schema.enums import Frequency
from schema.fields import field, id_field, money, mutation
from services.stripe_gateway.prepayments import PrepaymentStarted

if TYPE_CHECKING:
    from schema.payments import Payment

strawberry.enum(PrepaymentStatus, description="Where a recurring pre-payment is.")

_PAYMENTS = Module.PAYMENTS


@strawberry.type(
    description="The off-session charge of a recurring pre-payment's latest cycle, retried "
    "like an auto-billed invoice: 1, 3 and 5 days after a decline; the billing contacts are "
    "mailed each failure. The next cycle waits while one is retried."
)
class PrepaymentCharge:
    @field("Which payment of the schedule it is (2: the first the scheduler charged).")
    def cycle(self, root: strawberry.Parent[PrepaymentRow]) -> int:
        return root.charges

    @field(
        "SCHEDULED (waiting for the next attempt), CHARGING, SUCCEEDED, FAILED (every "
        "attempt failed), ACTION_REQUIRED (the bank asks the client to confirm: only the "
        "client can pay, in the portal) or CANCELED (the pre-payment was stopped)."
    )
    def status(self, root: strawberry.Parent[PrepaymentRow]) -> AutoBillStatus:
        assert root.charge_status is not None  # noqa: S101 - only shown once there is one
        return root.charge_status

    @field("Charges of this cycle tried so far.")
    def attempts(self, root: strawberry.Parent[PrepaymentRow]) -> int:
        return root.attempts

    @field("When the next attempt is made (null: none is planned).")
    def next_attempt_at(self, root: strawberry.Parent[PrepaymentRow]) -> datetime | None:
        return root.next_attempt_at

    @field("When the latest attempt was made.")
    def last_attempt_at(self, root: strawberry.Parent[PrepaymentRow]) -> datetime | None:
        return root.last_attempt_at

    @field("Why the latest attempt failed, in words a client can read.")
    def last_error(self, root: strawberry.Parent[PrepaymentRow]) -> str | None:
        return root.last_error


@strawberry.type(description="A client's standing order to pre-pay an amount on a schedule.")
class RecurringPrepayment:
    id: strawberry.ID = id_field()
    amount: Decimal = money("amount", "Charged each cycle.")
    currency: str = field("ISO 4217 currency.")
    frequency: Frequency = field("How often it is charged.")
    cycles: int | None = field("Payments in all, the first included (null: until canceled).")
    charges: int = field("Payments made so far.")
    status: PrepaymentStatus = field("Where it is.")
    next_charge_at: datetime | None = field("When the next cycle is charged.")
    last_error: str | None = field("Why the last cycle could not be charged.")
    created_at: datetime = field("When it was started.")

    @field(
        "Where the charge of the latest cycle the scheduler started is: status, attempts, "
        "next attempt (null until it starts one)."
    )
    def latest_charge(self, root: strawberry.Parent[PrepaymentRow]) -> PrepaymentCharge | None:
        return root if root.charge_status is not None else None  # type: ignore[return-value]


@strawberry.input(description="Repeat the pre-payment on a schedule.")
class RecurringPrepaymentInput:
    frequency: Frequency = strawberry.field(description="How often.")
    cycles: int | None = strawberry.field(
        default=None, description="Payments in all, this one included (null: until canceled)."
    )


@strawberry.type(
    description="A pre-payment started: PENDING until Stripe confirms it, then the client's credit."
)
class PrepaymentPayload:
    @field("The payment.", permission=Permission.PAYMENTS_READ, module=_PAYMENTS)
    def payment(
        self, root: strawberry.Parent[PrepaymentStarted]
    ) -> Annotated[Payment, strawberry.lazy("schema.payments")]:
        return root.payment  # type: ignore[return-value]

    @field("For Stripe.js `confirmCardPayment` while the payer still has to act.")
    def client_secret(self, root: strawberry.Parent[PrepaymentStarted]) -> str | None:
        return root.client_secret

    @field("The account's Stripe publishable key, to load Stripe.js with.")
    def publishable_key(self, root: strawberry.Parent[PrepaymentStarted]) -> str:
        return root.publishable_key

    @field("Where Stripe's PaymentIntent is: requires_payment_method, succeeded…")
    def intent_status(self, root: strawberry.Parent[PrepaymentStarted]) -> str:
        return root.intent_status

    @field(
        "The schedule of the next payments, when recurring.",
        permission=Permission.PAYMENTS_READ,
        module=_PAYMENTS,
    )
    def recurring(self, root: strawberry.Parent[PrepaymentStarted]) -> RecurringPrepayment | None:
        return root.recurring  # type: ignore[return-value]


@strawberry.type
class PrepaymentQuery:
    @field(
        "Recurring pre-payments, newest first.",
        permission=Permission.PAYMENTS_READ,
        module=_PAYMENTS,
    )
    async def recurring_prepayments(self, info: Info) -> list[RecurringPrepayment]:
        return await resolvers.list_recurring_prepayments(info)  # type: ignore[return-value]


@strawberry.type
class PrepaymentMutation:
    @mutation(
        "Pay ahead, for no invoice: the amount (in the client's currency, at least the "
        "account's `clientPrepaymentMinimum`, else BAD_USER_INPUT) becomes the client's credit "
        "once Stripe confirms it. Needs the account's `clientPrepaymentsEnabled` (else "
        "FORBIDDEN). With `recurring`, later payments are charged off-session on schedule "
        "to `paymentMethodId` or the default card.",
        permission=Permission.BILLING_ACT,
        module=_PAYMENTS,
    )
    async def make_prepayment(
        self,
        info: Info,
        amount: Decimal,
        recurring: RecurringPrepaymentInput | None = None,
        payment_method_id: strawberry.ID | None = None,
    ) -> PrepaymentPayload:
        return await resolvers.make_prepayment(  # type: ignore[return-value]
            info,
            amount,
            frequency=recurring.frequency if recurring else None,
            cycles=recurring.cycles if recurring else None,
            payment_method_id=payment_method_id,
        )

    @mutation(
        "Stop a recurring pre-payment: no more cycles are charged. The client's billing "
        "contact stops its own; staff who manage billing stop any of the account's.",
        permission=Permission.PREPAYMENTS_ACT,
        module=_PAYMENTS,
    )
    async def cancel_recurring_prepayment(
        self, info: Info, id: strawberry.ID
    ) -> RecurringPrepayment:
        return await resolvers.cancel_recurring_prepayment(info, id)  # type: ignore[return-value]
