"""The account (tenant), its staff users, staff sign-in, and the viewer.

The account's settings and its partner API tokens are changed through
``schema/account_settings.py``; client contacts are in ``schema/clients.py``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from auth.policy import Permission
from models.accounts import Account as AccountRow
from models.accounts import StaffUser as StaffUserRow
from models.enums import Module, StaffRole, UnpaidSubscriptionAction
from resolvers import auth as auth_resolvers
from resolvers.context import Info
from schema.fields import field, id_field, money, mutation, public_field, public_mutation
from services.stripe_gateway.connection import webhook_url

if TYPE_CHECKING:
    from schema.account_settings import ApiClient
    from schema.clients import Contact

strawberry.enum(StaffRole, description="What a staff user may do.")


@strawberry.type(description="The business using Portico.")
class Account:
    id: strawberry.ID = id_field()
    name: str = field("The business's name.")
    slug: str = field("Short name used in portal URLs and sign-in.")
    currency: str = field("Default currency (ISO 4217).")
    timezone: str = field("IANA time zone of the business.")
    logo_url: str | None = field("Logo shown in the portal and on documents.")
    primary_color: str = field("Brand colour (#RRGGBB).")
    background_image_url: str | None = field("Background of the portal sign-in page.")
    portal_enabled: bool = field(
        "Whether clients can use the portal.", permission=Permission.ACCOUNT_ADMIN
    )
    registration_enabled: bool = field(
        "Whether anyone may register as a new client.", permission=Permission.ACCOUNT_ADMIN
    )
    password_login_enabled: bool = field(
        "Whether contacts may sign in with a password.", permission=Permission.ACCOUNT_ADMIN
    )
    lock_sent_invoices: bool = field(
        "Whether sent invoices can no longer be edited.", permission=Permission.ACCOUNT_ADMIN
    )
    convert_quote_on_approval: bool = field(
        "Whether an approved quote becomes an invoice.", permission=Permission.ACCOUNT_ADMIN
    )
    task_sharing_enabled: bool = field(
        "Whether clients see the tasks shared with them (for every client).",
        permission=Permission.ACCOUNT_ADMIN,
    )
    client_payments_enabled: bool = field(
        "Whether billing contacts may pre-pay in the portal (`makePrepayment`).",
        permission=Permission.ACCOUNT_ADMIN,
    )
    client_payment_minimum: Decimal = money(
        "client_payment_minimum",
        "Smallest pre-payment a client may make.",
        permission=Permission.ACCOUNT_ADMIN,
    )
    subscription_unpaid_action: UnpaidSubscriptionAction = field(
        "What a subscription becomes once every retry of a charge failed.",
        permission=Permission.ACCOUNT_ADMIN,
    )

    @field("Whether Stripe is connected (card payments on).", permission=Permission.ACCOUNT_ADMIN)
    def stripe_connected(self, root: strawberry.Parent[AccountRow]) -> bool:
        return root.stripe_secret_key is not None

    stripe_publishable_key: str | None = field(
        "The connected Stripe publishable key (public by design).",
        permission=Permission.ACCOUNT_ADMIN,
    )

    @field(
        "The URL to add as a webhook endpoint in Stripe's dashboard.",
        permission=Permission.ACCOUNT_ADMIN,
    )
    def stripe_webhook_url(self, root: strawberry.Parent[AccountRow], info: Info) -> str:
        return webhook_url(info.context.runtime.settings, root.id)

    @field("Modules switched on for the account.", permission=Permission.ACCOUNT_ADMIN)
    def enabled_modules(self, root: strawberry.Parent[AccountRow]) -> list[Module]:
        return [Module(m) for m in root.enabled_modules]


@strawberry.type(description="Someone who works for the business.")
class StaffUser:
    id: strawberry.ID = id_field()
    email: str = field("Sign-in email.")
    name: str = field("Full name.")
    role: StaffRole = field("What the user may do.")
    is_active: bool = field("Whether the user may sign in.")
    last_sign_in_at: datetime | None = field("Last successful sign-in.")

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, StaffUserRow | StaffUser)


@strawberry.type(description="A new session.")
class SignInPayload:
    token: str = strawberry.field(
        description="Send it as `Authorization: Bearer <token>` with every request."
    )


@strawberry.type(description="What a portal sign-in page shows, open to anyone.")
class Portal:
    name: str = field("The business's name.")
    slug: str = field("The account's short name.")
    logo_url: str | None = field("Logo to show.")
    primary_color: str = field("Brand colour (#RRGGBB).")
    background_image_url: str | None = field("Background image of the sign-in page.")
    registration_enabled: bool = field("Whether new clients may register.")
    password_login_enabled: bool = field("Whether contacts may sign in with a password.")


@strawberry.type
class AccountQuery:
    @public_field("Public branding of an account's portal, by its slug.")
    async def portal(self, info: Info, account: str) -> Portal:
        return await auth_resolvers.portal(info, account)  # type: ignore[return-value]

    # The union is spelled out here, not as a module-level alias: Strawberry resolves
    # `strawberry.lazy` members in annotations, while an alias's members would be plain
    # forward references evaluated in this module, where Contact and ApiClient are not.
    @field("Who is calling: the staff user, contact or API client behind the token.")
    async def viewer(
        self, info: Info
    ) -> Annotated[
        StaffUser
        | Annotated[Contact, strawberry.lazy("schema.clients")]
        | Annotated[ApiClient, strawberry.lazy("schema.account_settings")],
        strawberry.union("Viewer", description="Whoever is behind the request's token."),
    ]:
        return await auth_resolvers.viewer(info)  # type: ignore[return-value]

    @field("The caller's account.")
    async def account(self, info: Info) -> Account:
        return await auth_resolvers.current_account(info)  # type: ignore[return-value]


@strawberry.type
class AccountMutation:
    @public_mutation("Sign a staff user in; unknown email and wrong password answer alike.")
    async def sign_in(self, info: Info, email: str, password: str) -> SignInPayload:
        return SignInPayload(token=await auth_resolvers.sign_in(info, email, password))

    @mutation("End the current session; its token stops working at once.")
    async def sign_out(self, info: Info) -> bool:
        return await auth_resolvers.sign_out(info)
