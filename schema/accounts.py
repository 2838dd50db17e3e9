"""The account (tenant), its staff users, and the viewer union."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from auth.policy import Permission
from models.accounts import Account as AccountRow
from models.accounts import StaffUser as StaffUserRow
from models.auth import ApiToken as ApiTokenRow
from models.clients import Contact as ContactRow
from models.enums import ContactRole, Module, StaffRole
from resolvers import auth as auth_resolvers
from resolvers.clients import client_of
from resolvers.context import Info
from schema.fields import field, id_field, mutation, public_field, public_mutation

if TYPE_CHECKING:
    from schema.clients import Client

strawberry.enum(StaffRole, description="What a staff user may do.")
strawberry.enum(ContactRole, description="A client contact's role in the portal.")


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


@strawberry.type(description="A person at a client who uses the portal.")
class Contact:
    id: strawberry.ID = id_field()
    email: str = field("Email the contact signs in with.")
    first_name: str = field("Given name.")
    last_name: str = field("Family name.")
    phone: str | None = field("Phone number.")
    role: ContactRole = field("BILLING pays and approves, COLLABORATOR works, VIEWER reads.")
    is_primary: bool = field("The client's primary contact.")
    last_seen_at: datetime | None = field(
        "Last time the contact used the portal.", permission=Permission.INTERNAL_READ
    )

    @field("Full name.")
    def name(self, root: strawberry.Parent[ContactRow]) -> str:
        return root.display_name

    @field("The client this contact belongs to.", permission=Permission.CLIENTS_READ)
    async def client(
        self, info: Info, root: strawberry.Parent[ContactRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return await client_of(info, root.client_id)  # type: ignore[return-value]

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, ContactRow | Contact)


@strawberry.type(description="A partner tool authenticated by an API token.")
class ApiClient:
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


Viewer = Annotated[
    StaffUser | Contact | ApiClient,
    strawberry.union("Viewer", description="Whoever is behind the request's token."),
]


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

    @field("Who is calling: the staff user, contact or API client behind the token.")
    async def viewer(self, info: Info) -> Viewer:
        return await auth_resolvers.viewer(info)  # type: ignore[return-value]

    @field("The caller's account.")
    async def account(self, info: Info) -> Account:
        return await auth_resolvers.current_account(info)  # type: ignore[return-value]


@strawberry.type(description="A new API token.")
class ApiTokenPayload:
    token: str = strawberry.field(
        description="The token: shown this once, send it as `Authorization: Bearer <token>`."
    )
    api_client: ApiClient = field(
        "The token's name and scopes.", permission=Permission.ACCOUNT_ADMIN
    )


@strawberry.type
class AccountMutation:
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

    @public_mutation("Sign a staff user in; unknown email and wrong password answer alike.")
    async def sign_in(self, info: Info, email: str, password: str) -> SignInPayload:
        return SignInPayload(token=await auth_resolvers.sign_in(info, email, password))

    @mutation("End the current session; its token stops working at once.")
    async def sign_out(self, info: Info) -> bool:
        return await auth_resolvers.sign_out(info)
