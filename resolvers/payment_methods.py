"""Saved payment methods: GraphQL arguments -> service call -> rows; adding one through
a Stripe SetupIntent, choosing the default, removing one."""

from __future__ import annotations

import uuid

from auth.principals import ContactPrincipal, Principal
from models.payment_methods import SavedPaymentMethod
from resolvers.common import atomic, caller, parse_id, parse_optional_id
from resolvers.context import Info
from services import access
from services.errors import Forbidden
from services.pagination import Page
from services.payments import methods as payment_methods
from services.stripe_gateway import payment_methods as stripe_methods
from services.stripe_gateway.payment_methods import SetupIntentStarted


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


def _acting(info: Info) -> Principal:
    """Staff, or a contact acting for itself (never a read-only "view as" session)."""
    principal = caller(info)
    if isinstance(principal, ContactPrincipal) and principal.read_only:
        raise Forbidden()
    return principal


async def create_setup_intent(info: Info, client_id: str | None) -> SetupIntentStarted:
    return await stripe_methods.create_setup_intent(
        info.context.runtime,
        info.context.session,
        _acting(info),
        parse_optional_id(client_id, field="clientId"),
    )


async def set_default_payment_method(info: Info, id: str) -> SavedPaymentMethod:
    actor = _acting(info)
    async with atomic(info) as work:
        return await payment_methods.set_default_payment_method(
            session=work.session, actor=actor, payment_method_id=parse_id(id)
        )


async def remove_payment_method(info: Info, id: str) -> uuid.UUID:
    return await stripe_methods.remove_payment_method(
        info.context.runtime, info.context.session, _acting(info), parse_id(id)
    )
