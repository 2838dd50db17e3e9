"""What an account admin sets up: the account's settings (modules, branding, portal
options) and the partner API tokens it issues."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.file_uploads import Upload

from auth.policy import Permission
from models.auth import ApiToken as ApiTokenRow
from models.enums import Module, UnpaidSubscriptionAction
from resolvers import auth as auth_resolvers
from resolvers import portal_access as resolvers
from resolvers.context import Info
from schema.capabilities import Viewer
from schema.enums import PartnerDocuments
from schema.fields import field, id_field, mutation
from services.accounts import AccountSettingsData
from services.stripe_gateway.connection import StripeKeys
from services.uploads import UploadedFile, as_upload

if TYPE_CHECKING:
    from schema.accounts import Account


@strawberry.type(description="A partner tool authenticated by an API token.")
class ApiClient(Viewer):
    id: strawberry.ID = id_field()
    name: str = field("Name given to the token.")
    scopes: list[str] = field("What the token may read.")
    token_prefix: str = field(
        "The token's first characters, to recognise it.", permission=Permission.ACCOUNT_ADMIN
    )
    created_at: datetime = field("When the token was created.", permission=Permission.ACCOUNT_ADMIN)
    expires_at: datetime | None = field(
        "When the token stops working by itself.", permission=Permission.ACCOUNT_ADMIN
    )
    last_used_at: datetime | None = field(
        "Last request made with the token (to the minute).", permission=Permission.ACCOUNT_ADMIN
    )
    revoked_at: datetime | None = field(
        "When the token was revoked.", permission=Permission.ACCOUNT_ADMIN
    )

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, ApiTokenRow | ApiClient)


@strawberry.type(description="A new API token.")
class ApiTokenPayload:
    token: str = strawberry.field(
        description="The token: shown this once, send it as `Authorization: Bearer <token>`."
    )
    api_client: ApiClient = field(
        "The token's name and scopes.", permission=Permission.ACCOUNT_ADMIN
    )


@strawberry.input(
    description="The keys of the account's Stripe account (Developers > API keys, and the "
    "signing secret of the webhook endpoint)."
)
class StripeConnectionInput:
    secret_key: str = strawberry.field(
        description="sk_live_… or sk_test_… (stored sealed; never readable again)."
    )
    publishable_key: str = strawberry.field(description="pk_live_… or pk_test_… (the same mode).")
    webhook_secret: str = strawberry.field(
        description="whsec_…: the signing secret of the endpoint at `stripeWebhookUrl`."
    )

    def to_keys(self) -> StripeKeys:
        return StripeKeys(
            secret_key=self.secret_key.strip(),
            publishable_key=self.publishable_key.strip(),
            webhook_secret=self.webhook_secret.strip(),
        )


@strawberry.input(description="Account settings to change; fields left out keep their value.")
class AccountSettingsInput:
    name: str | None = strawberry.field(default=None, description="The business's name.")
    timezone: str | None = strawberry.field(default=None, description="IANA time zone.")
    locale: str | None = strawberry.field(
        default=None, description="How the portal writes money and dates (CLDR: en_US, de_DE)."
    )
    logo_url: str | None = strawberry.field(
        default=None, description="Logo URL (http/https); empty removes it."
    )
    primary_color: str | None = strawberry.field(default=None, description="#RRGGBB.")
    background_image_url: str | None = strawberry.field(
        default=None, description="Portal sign-in background (http/https); empty removes it."
    )
    portal_enabled: bool | None = strawberry.field(
        default=None,
        description="The client portal on or off; off ends every contact's access at once.",
    )
    registration_enabled: bool | None = strawberry.field(
        default=None, description="Whether anyone may register as a new client."
    )
    password_login_enabled: bool | None = strawberry.field(
        default=None, description="Whether contacts may sign in with a password."
    )
    enabled_modules: list[Module] | None = strawberry.field(
        default=None, description="The modules switched on for the account."
    )
    lock_sent_invoices: bool | None = strawberry.field(
        default=None, description="Whether sent invoices can no longer be edited."
    )
    convert_quote_on_approval: bool | None = strawberry.field(
        default=None, description="Whether an approved quote becomes an invoice."
    )
    quote_requires_terms: bool | None = strawberry.field(
        default=None, description="Approving a quote requires accepting the terms."
    )
    quote_requires_signature: bool | None = strawberry.field(
        default=None, description="Approving a quote requires a typed signature."
    )
    quote_requires_po_number: bool | None = strawberry.field(
        default=None, description="Approving a quote requires a PO number."
    )
    quote_terms: str | None = strawberry.field(
        default=None, description="Terms a client accepts when approving a quote."
    )
    allow_partial_payments: bool | None = strawberry.field(
        default=None, description="Whether clients may pay less than the amount due."
    )
    allow_overpayment: bool | None = strawberry.field(
        default=None, description="Whether clients may pay more than the amount due."
    )
    minimum_payment_amount: Decimal | None = strawberry.field(
        default=None, description="Smallest amount a client may pay online."
    )
    logo: Upload | None = strawberry.field(
        default=None,
        description="Upload a logo (PNG, JPEG or WebP, not SVG; multipart request); it "
        "replaces `logoUrl`.",
    )
    background_image: Upload | None = strawberry.field(
        default=None,
        description="Upload the portal's sign-in background (PNG, JPEG or WebP); it replaces "
        "`backgroundImageUrl`.",
    )
    white_label: bool | None = strawberry.field(
        default=None,
        description="Show only your brand in the portal and in mails (no Portico mention).",
    )
    client_uploads_enabled: bool | None = strawberry.field(
        default=None, description="Whether contacts may upload documents from the portal."
    )
    client_upload_max_bytes: int | None = strawberry.field(
        default=None,
        description="Largest file a contact may upload, at most the server's limit (0: the "
        "server's limit).",
    )
    client_payments_enabled: bool | None = strawberry.field(
        default=None, description="Whether contacts may pay invoices from the portal."
    )
    task_sharing_enabled: bool | None = strawberry.field(
        default=None,
        description="Whether tasks are shared with clients at all; off, no contact has the "
        "Tasks module (one setting for every client).",
    )
    terms_text: str | None = strawberry.field(
        default=None, description="Terms of service shown in the portal; empty removes them."
    )
    privacy_text: str | None = strawberry.field(
        default=None, description="Privacy policy shown in the portal; empty removes it."
    )
    client_prepayments_enabled: bool | None = strawberry.field(
        default=None,
        description="Whether billing contacts may pay ahead of any invoice (`makePrepayment`; "
        "the balance becomes the client's credit).",
    )
    client_prepayment_minimum: Decimal | None = strawberry.field(
        default=None, description="Smallest pre-payment a client may make."
    )
    subscription_unpaid_action: UnpaidSubscriptionAction | None = strawberry.field(
        default=None,
        description="What a subscription becomes once every retry of a charge failed: UNPAID "
        "(kept, no more periods billed) or CANCELED.",
    )
    partner_documents: PartnerDocuments | None = strawberry.field(
        default=None,
        description="Which documents partner API tokens may run: ANY, or REGISTERED (only "
        "those registered with `registerPersistedQuery`; staff and contacts are never "
        "restricted).",
    )

    def to_data(self) -> AccountSettingsData:
        given = {
            name: getattr(self, name, None) for name in AccountSettingsData.__dataclass_fields__
        }
        return AccountSettingsData(**given)

    def images(self) -> tuple[UploadedFile | None, UploadedFile | None]:
        """The logo and background uploaded (Starlette's UploadFile at run time)."""
        logo = None if self.logo is None else as_upload(self.logo, field="logo")
        background = (
            None
            if self.background_image is None
            else as_upload(self.background_image, field="backgroundImage")
        )
        return logo, background


@strawberry.type
class AccountSettingsQuery:
    @field(
        "The account's partner API tokens, newest first.",
        permission=Permission.ACCOUNT_ADMIN,
    )
    async def api_tokens(self, info: Info) -> list[ApiClient]:
        return await resolvers.api_token_list(info)  # type: ignore[return-value]


# Two mutation classes, not one: ``createApiToken`` opens the root Mutation type and the
# other two follow the portal-access mutations (``schema/root.py``), the order the
# committed SDL (schema/sdl/) has always printed.
@strawberry.type
class ApiTokenCreationMutation:
    @mutation("Create an API token for a partner tool.", permission=Permission.ACCOUNT_ADMIN)
    async def create_api_token(
        self,
        info: Info,
        name: str,
        scopes: list[str],
        expires_at: datetime | None = None,
    ) -> ApiTokenPayload:
        row, token = await auth_resolvers.create_api_token(info, name, scopes, expires_at)
        return ApiTokenPayload(token=token, api_client=row)  # type: ignore[arg-type]


@strawberry.type
class AccountSettingsMutation:
    @mutation(
        "Revoke a partner API token at once.",
        permission=Permission.ACCOUNT_ADMIN,
    )
    async def revoke_api_token(self, info: Info, id: strawberry.ID) -> ApiClient:
        return await resolvers.revoke_api_token(info, id)  # type: ignore[return-value]

    @mutation(
        "Connect the account's Stripe account: the secret key is checked with Stripe, then "
        "kept sealed with the webhook secret (neither is readable through the API). Card "
        "payments, saved cards and auto-billing need it.",
        permission=Permission.ACCOUNT_ADMIN,
    )
    async def connect_stripe(
        self, info: Info, input: StripeConnectionInput
    ) -> Annotated[Account, strawberry.lazy("schema.accounts")]:
        return await resolvers.connect_stripe(info, input.to_keys())  # type: ignore[return-value]

    @mutation(
        "Forget the Stripe keys: online payments stop; manual payments go on.",
        permission=Permission.ACCOUNT_ADMIN,
    )
    async def disconnect_stripe(
        self, info: Info
    ) -> Annotated[Account, strawberry.lazy("schema.accounts")]:
        return await resolvers.disconnect_stripe(info)  # type: ignore[return-value]

    @mutation(
        "Change modules, branding and portal options; a logo or background image is uploaded "
        "with a multipart request (see `uploadDocument`).",
        permission=Permission.ACCOUNT_ADMIN,
    )
    async def update_account_settings(
        self, info: Info, input: AccountSettingsInput
    ) -> Annotated[Account, strawberry.lazy("schema.accounts")]:
        logo, background_image = input.images()
        return await resolvers.update_account_settings(  # type: ignore[return-value]
            info, input.to_data(), logo=logo, background_image=background_image
        )
