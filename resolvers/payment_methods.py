"""Saved payment methods: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

from models.payment_methods import SavedPaymentMethod
from resolvers.common import caller, parse_id
from resolvers.context import Info
from services import access, payment_methods
from services.pagination import Page


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
