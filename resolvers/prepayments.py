"""Pre-payments: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

from decimal import Decimal

from models.enums import Frequency
from models.prepayments import RecurringPrepayment
from resolvers.common import acting_contact, atomic, caller, parse_id, parse_optional_id
from resolvers.context import Info
from services.stripe_gateway import prepayments
from services.stripe_gateway.prepayments import PrepaymentStarted, RecurringChoice


async def make_prepayment(
    info: Info,
    amount: Decimal,
    *,
    frequency: Frequency | None,
    cycles: int | None,
    payment_method_id: str | None,
) -> PrepaymentStarted:
    recurring = RecurringChoice(frequency, cycles) if frequency is not None else None
    return await prepayments.make_prepayment(
        info.context.runtime,
        info.context.session,
        acting_contact(info),
        amount=amount,
        recurring=recurring,
        payment_method_id=parse_optional_id(payment_method_id, field="paymentMethodId"),
    )


async def cancel_recurring_prepayment(info: Info, id: str) -> RecurringPrepayment:
    actor = caller(info)
    async with atomic(info) as work:
        return await prepayments.cancel_recurring_prepayment(
            session=work.session, actor=actor, prepayment_id=parse_id(id)
        )


async def list_recurring_prepayments(info: Info) -> list[RecurringPrepayment]:
    return await prepayments.list_recurring_prepayments(
        session=info.context.session, principal=caller(info)
    )
