"""Payment methods saved for a client: types, root fields."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import Module
from models.payment_methods import SavedPaymentMethod as PaymentMethodRow
from models.types import utcnow
from resolvers import payment_methods as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_optional_id
from resolvers.context import Info
from schema.fields import field, id_field
from schema.pagination import Connection
from services.payments.methods import PaymentMethodFilter

if TYPE_CHECKING:
    from schema.clients import Client

_PAYMENT_METHODS = Module.PAYMENT_METHODS
_READ = Permission.PAYMENT_METHODS_READ


@strawberry.type(
    name="PaymentMethod",
    description="A card or bank account saved for a client: display details only.",
)
class PaymentMethod:
    id: strawberry.ID = id_field()
    kind: str = field("What it is, e.g. `card` or `us_bank_account`.")
    brand: str | None = field("Card brand, e.g. `visa`.")
    last4: str | None = field("Last four digits of the card or account number.")
    exp_month: int | None = field("Card expiry month (1 to 12).")
    exp_year: int | None = field("Card expiry year.")
    bank_name: str | None = field("Bank of a bank account.")
    is_default: bool = field("The method charged when none is named.")
    stripe_payment_method_id: str | None = field(
        "The method's id at Stripe.",
        permission=Permission.PROVIDER_IDS_READ,
        module=_PAYMENT_METHODS,
    )
    created_at: datetime = field("When it was saved.")

    @field("Whether a card's expiry month has passed (false for methods without expiry).")
    def is_expired(self, root: strawberry.Parent[PaymentMethodRow]) -> bool:
        if root.exp_year is None or root.exp_month is None:
            return False
        today = utcnow().date()
        return (root.exp_year, root.exp_month) < (today.year, today.month)

    @field("The client it belongs to.")
    async def client(
        self, info: Info, root: strawberry.Parent[PaymentMethodRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return await client_of(info, root.client_id)  # type: ignore[return-value]


@strawberry.type
class PaymentMethodQuery:
    @field("Saved payment methods, newest first.", permission=_READ, module=_PAYMENT_METHODS)
    async def payment_methods(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        client_id: strawberry.ID | None = None,
        kind: str | None = None,
    ) -> Connection[PaymentMethod]:
        filters = PaymentMethodFilter(
            client_id=parse_optional_id(client_id, field="clientId"), kind=kind
        )
        return await resolvers.list_payment_methods(  # type: ignore[return-value]
            info, first=first, after=after, filters=filters
        )

    @field("One saved payment method by id.", permission=_READ, module=_PAYMENT_METHODS)
    async def payment_method(self, info: Info, id: strawberry.ID) -> PaymentMethod:
        return await resolvers.payment_method(info, id)  # type: ignore[return-value]
