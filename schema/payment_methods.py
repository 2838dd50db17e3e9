"""Payment methods saved for a client: types, root fields, saving and removing them."""

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
from schema.fields import field, id_field, mutation
from schema.pagination import Connection
from services.payments.methods import PaymentMethodFilter
from services.stripe_gateway.payment_methods import SetupIntentStarted

if TYPE_CHECKING:
    from schema.clients import Client

_PAYMENT_METHODS = Module.PAYMENT_METHODS
_READ = Permission.PAYMENT_METHODS_READ
_MANAGE = Permission.PAYMENT_METHODS_MANAGE


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
    def client(
        self, info: Info, root: strawberry.Parent[PaymentMethodRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return client_of(info, root.client_id)  # type: ignore[return-value]


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


@strawberry.type(
    description="A SetupIntent for Stripe.js `confirmCardSetup`: the card is saved (and "
    "listed in `paymentMethods`) once Stripe confirms it."
)
class SetupIntentPayload:
    @field("For Stripe.js `confirmCardSetup`.")
    def client_secret(self, root: strawberry.Parent[SetupIntentStarted]) -> str:
        return root.client_secret

    @field("The account's Stripe publishable key, to load Stripe.js with.")
    def publishable_key(self, root: strawberry.Parent[SetupIntentStarted]) -> str:
        return root.publishable_key

    @field(
        "The SetupIntent's id at Stripe.",
        permission=Permission.PROVIDER_IDS_READ,
        module=_PAYMENT_METHODS,
    )
    def setup_intent_id(self, root: strawberry.Parent[SetupIntentStarted]) -> str:
        return root.setup_intent_id


@strawberry.type
class PaymentMethodMutation:
    @mutation(
        "Start saving a card for later payments and automatic billing: a Stripe "
        "SetupIntent for Stripe.js to confirm. A billing contact saves one for its own "
        "client; staff name the client. The card appears in `paymentMethods` once Stripe "
        "confirms it (the first one saved becomes the default). Without Stripe connected: "
        "PAYMENTS_NOT_CONFIGURED.",
        permission=_MANAGE,
        module=_PAYMENT_METHODS,
    )
    async def create_setup_intent(
        self, info: Info, client_id: strawberry.ID | None = None
    ) -> SetupIntentPayload:
        return await resolvers.create_setup_intent(info, client_id)  # type: ignore[return-value]

    @mutation(
        "Make a saved payment method its client's default: the one charged when none is "
        "named (automatic billing, subscriptions).",
        permission=_MANAGE,
        module=_PAYMENT_METHODS,
    )
    async def set_default_payment_method(self, info: Info, id: strawberry.ID) -> PaymentMethod:
        return await resolvers.set_default_payment_method(info, id)  # type: ignore[return-value]

    @mutation(
        "Remove a saved payment method: it is detached at Stripe and can no longer be "
        "charged; answers its id. Refused (CONFLICT, with the reason) while it pays an "
        "active subscription or is charged automatically for a recurring invoice (named "
        "there, or as the default where none is named).",
        permission=_MANAGE,
        module=_PAYMENT_METHODS,
    )
    async def remove_payment_method(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(str(await resolvers.remove_payment_method(info, id)))
