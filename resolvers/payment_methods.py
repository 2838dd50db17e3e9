"""Saved payment methods: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid

from models.payment_methods import SavedPaymentMethod
from resolvers.common import caller, parse_id
from resolvers.context import Info
from services import access
from services.pagination import Page
from services.payments import methods as payment_methods


async def list_payment_methods(
    info: Info,
    *,
    first: int | None,
    after: str | None,
    filters: payment_methods.PaymentMethodFilter,
) -> Page[SavedPaymentMethod]:
    return await payment_methods.list_payment_methods(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def payment_method(info: Info, id: str) -> SavedPaymentMethod:
    return await access.access_payment_method(info.context.session, caller(info), parse_id(id))


async def payment_method_of(
    info: Info, payment_method_id: uuid.UUID | None
) -> SavedPaymentMethod | None:
    """A saved payment method, or ``None`` when there is none or the caller may not see it."""
    if payment_method_id is None:
        return None
    return await info.context.loaders.payment_method_by_id.load(payment_method_id)
