"""The account (tenant), its staff users, staff sign-in, and the viewer.

The account's settings and its partner API tokens are changed through
``schema/account_settings.py``; client contacts are in ``schema/clients.py``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry

from auth.policy import Permission
from models.accounts import Account as AccountRow
from models.accounts import StaffUser as StaffUserRow
from models.enums import Module, StaffRole, UnpaidSubscriptionAction
from resolvers import auth as auth_resolvers
from resolvers.context import Info
from schema.capabilities import Viewer
from schema.enums import PartnerDocuments
from schema.fields import field, id_field, money, mutation, public_field, public_mutation
from services.branding import image_url
from services.stripe_gateway.connection import webhook_url

strawberry.enum(StaffRole, description="What a staff user may do.")


@strawberry.type(description="The business using Portico.")
class Account:
    id: strawberry.ID = id_field()
    name: str = field("The business's name.")
    slug: str = field("Short name used in portal URLs and sign-in.")
    currency: str = field("Default currency (ISO 4217).")
    timezone: str = field("IANA time zone of the business.")
    locale: str = field("How the portal writes money and dates (CLDR locale: en_US, de_DE).")

    @field("Logo shown in the portal and on documents (an uploaded one, or the URL given).")
    def logo_url(self, root: strawberry.Parent[AccountRow], info: Info) -> str | None:
        return image_url(info.context.runtime.settings, root.logo_key) or root.logo_url

    primary_color: str = field("Brand colour (#RRGGBB).")

    @field("Background of the portal sign-in page (uploaded, or the URL given).")
    def background_image_url(self, root: strawberry.Parent[AccountRow], info: Info) -> str | None:
        settings = info.context.runtime.settings
        return image_url(settings, root.background_image_key) or root.background_image_url

    white_label: bool = field("Whether only the business's brand is shown (no Portico mention).")
    terms_text: str | None = field("Terms of service shown in the portal.")
    privacy_text: str | None = field("Privacy policy shown in the portal.")
    client_uploads_enabled: bool = field("Whether contacts may upload documents.")

    @field("Largest file a contact may upload, in bytes.")
    def client_upload_max_bytes(self, root: strawberry.Parent[AccountRow], info: Info) -> int:
        server_limit = info.context.runtime.settings.upload_max_bytes
        return min(root.client_upload_max_bytes or server_limit, server_limit)

    client_payments_enabled: bool = field("Whether contacts may pay invoices from the portal.")
    task_sharing_enabled: bool = field(
        "Whether tasks are shared with clients (off: no contact has the Tasks module).",
        permission=Permission.ACCOUNT_ADMIN,
    )
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
    # Read by whoever reads payments (a client's billing and viewer contacts too, for
    # the portal's pay-ahead page; never a collaborator), where the Payments module is on.
    client_prepayments_enabled: bool = field(
        "Whether billing contacts may pre-pay in the portal (`makePrepayment`).",
        permission=Permission.PAYMENTS_READ,
        module=Module.PAYMENTS,
    )
    client_prepayment_minimum: Decimal = money(
        "client_prepayment_minimum",
        "Smallest pre-payment a client may make.",
        permission=Permission.PAYMENTS_READ,
        module=Module.PAYMENTS,
    )
    # What paying from the portal allows (the Pay Now amount field), read like the
    # pre-payment settings: whoever reads payments, where the Payments module is on.
    allow_partial_payments: bool = field(
        "Whether an invoice may be paid in part (`payInvoices` with less than is due).",
        permission=Permission.PAYMENTS_READ,
        module=Module.PAYMENTS,
    )
    allow_overpayment: bool = field(
        "Whether a payment may be more than is due (the rest becomes the client's credit).",
        permission=Permission.PAYMENTS_READ,
        module=Module.PAYMENTS,
    )
    minimum_payment_amount: Decimal = money(
        "minimum_payment_amount",
        "Smallest partial payment accepted (paying all that is due is always accepted).",
        permission=Permission.PAYMENTS_READ,
        module=Module.PAYMENTS,
    )
    subscription_unpaid_action: UnpaidSubscriptionAction = field(
        "What a subscription becomes once every retry of a charge failed.",
        permission=Permission.ACCOUNT_ADMIN,
    )
    partner_documents: PartnerDocuments = field(
        "Which documents partner API tokens may run (REGISTERED: only registered ones).",
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
class StaffUser(Viewer):
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
    locale: str = field("How money and dates are written (CLDR locale: en_US, de_DE).")

    @field("Logo to show (an uploaded one is served under `/branding/`).")
    def logo_url(self, root: strawberry.Parent[AccountRow], info: Info) -> str | None:
        return image_url(info.context.runtime.settings, root.logo_key) or root.logo_url

    primary_color: str = field("Brand colour (#RRGGBB).")

    @field("Background image of the sign-in page.")
    def background_image_url(self, root: strawberry.Parent[AccountRow], info: Info) -> str | None:
        settings = info.context.runtime.settings
        return image_url(settings, root.background_image_key) or root.background_image_url

    white_label: bool = field("Whether only the business's brand is shown (no Portico mention).")
    registration_enabled: bool = field("Whether new clients may register.")
    password_login_enabled: bool = field("Whether contacts may sign in with a password.")
    terms_text: str | None = field("Terms of service to show.")
    privacy_text: str | None = field("Privacy policy to show.")


@strawberry.type
class AccountQuery:
    @public_field("Public branding of an account's portal, by its slug.")
    async def portal(self, info: Info, account: str) -> Portal:
        return await auth_resolvers.portal(info, account)  # type: ignore[return-value]

    @field("Who is calling: the staff user, contact or API client behind the token.")
    async def viewer(self, info: Info) -> Viewer:
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
