"""Getting into the portal and ending access: magic links, invites, contact passwords,
dashboard and document links, registration, sessions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.auth import AuthSession as AuthSessionRow
from models.enums import SessionKind
from resolvers import portal_access as resolvers
from resolvers.context import Info
from schema.fields import field, mutation, public_mutation
from services.portal.registration import Registration
from services.portal.sessions import PortalSession

if TYPE_CHECKING:
    from schema.clients import Contact

strawberry.enum(SessionKind, description="Who a session belongs to.")


@strawberry.type(description="A contact session opened in the portal.")
class PortalSessionPayload:
    token: str = strawberry.field(
        description="Send it as `Authorization: Bearer <token>` with every request."
    )
    expires_at: datetime = strawberry.field(description="When the session ends by itself.")
    read_only: bool = strawberry.field(
        description="True when staff opened a client's link: a read-only view of the portal."
    )
    subject_type: str | None = strawberry.field(
        description="For a document link: `invoice` or `quote`, the document to show."
    )
    subject_id: strawberry.ID | None = strawberry.field(
        description="For a document link: the id of the document to show."
    )

    @classmethod
    def of(cls, result: PortalSession) -> PortalSessionPayload:
        return cls(
            token=result.token,
            expires_at=result.expires_at,
            read_only=result.read_only,
            subject_type=result.subject_type,
            subject_id=strawberry.ID(str(result.subject_id)) if result.subject_id else None,
        )


@strawberry.type(description="A sign-in session (this device or another).")
class Session:
    kind: SessionKind = strawberry.field(description="Staff, contact or read-only view.")
    read_only: bool = strawberry.field(description="A read-only view of a contact's portal.")
    created_at: datetime = strawberry.field(description="When the session started.")
    expires_at: datetime = strawberry.field(description="When it ends by itself.")
    last_seen_at: datetime | None = strawberry.field(
        description="Last request made with it (to the minute)."
    )

    @strawberry.field(description="Unique, opaque identifier.")
    def id(self, root: strawberry.Parent[AuthSessionRow]) -> strawberry.ID:
        return strawberry.ID(str(root.id))

    @strawberry.field(description="Whether this is the session of the current request.")
    def current(self, info: Info, root: strawberry.Parent[AuthSessionRow]) -> bool:
        return getattr(info.context.principal, "session_id", None) == root.id


@strawberry.type(description="An invitation on its way to a contact.")
class InvitePayload:
    contact: Annotated[Contact, strawberry.lazy("schema.clients")] = field(
        "The invited contact.", permission=Permission.CLIENTS_READ
    )
    expires_at: datetime | None = strawberry.field(description="When the invite link expires.")


@strawberry.type(description="A client contact's secure dashboard URL.")
class PortalLinkPayload:
    url: str = strawberry.field(
        description="Opens the contact's portal without signing in. Creating a new one "
        "revokes the previous URL and the sessions opened with it."
    )
    contact: Annotated[Contact, strawberry.lazy("schema.clients")] = field(
        "Whose portal the URL opens.", permission=Permission.CLIENTS_READ
    )


@strawberry.input(description="Someone registering as a new client of the business.")
class RegisterClientInput:
    email: str = strawberry.field(description="Where the confirmation link goes.")
    first_name: str = strawberry.field(default="", description="Given name.")
    last_name: str = strawberry.field(default="", description="Family name.")
    company: str | None = strawberry.field(default=None, description="Company name, if any.")
    phone: str | None = strawberry.field(default=None, description="Phone number.")

    def to_data(self) -> Registration:
        return Registration(
            company=self.company,
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            phone=self.phone,
        )


@strawberry.type
class PortalAccessQuery:
    @field("Live sessions: your own, or (staff) those of one contact.")
    async def sessions(self, info: Info, contact_id: strawberry.ID | None = None) -> list[Session]:
        return await resolvers.sessions(info, contact_id)  # type: ignore[return-value]


@strawberry.type
class PortalAccessMutation:
    @public_mutation(
        "Email a one-time sign-in link to a contact of the account's portal. "
        "The answer is the same whether or not the email belongs to a contact."
    )
    async def request_magic_link(self, info: Info, account: str, email: str) -> bool:
        return await resolvers.request_magic_link(info, account, email)

    @public_mutation(
        "Exchange a sign-in, dashboard, document or email-confirmation link "
        "for a contact session. With `account`, links of other accounts are refused."
    )
    async def redeem_portal_link(
        self, info: Info, token: str, account: str | None = None
    ) -> PortalSessionPayload:
        return PortalSessionPayload.of(await resolvers.redeem_portal_link(info, token, account))

    @public_mutation("Set a password from an invite link and sign in.")
    async def accept_invite(
        self, info: Info, token: str, password: str, account: str | None = None
    ) -> PortalSessionPayload:
        return PortalSessionPayload.of(
            await resolvers.accept_invite(info, token, password, account)
        )

    @public_mutation(
        "Contact sign-in with a password (when the account allows it); unknown "
        "email and wrong password answer alike."
    )
    async def portal_sign_in(
        self, info: Info, account: str, email: str, password: str
    ) -> PortalSessionPayload:
        return PortalSessionPayload.of(
            await resolvers.portal_sign_in(info, account, email, password)
        )

    @public_mutation(
        "Email a password-reset link; the answer is the same whether or not "
        "the email belongs to a contact."
    )
    async def request_password_reset(self, info: Info, account: str, email: str) -> bool:
        return await resolvers.request_password_reset(info, account, email)

    @public_mutation("Set a new password from a reset link; other sessions of the contact end.")
    async def reset_password(
        self, info: Info, token: str, password: str, account: str | None = None
    ) -> PortalSessionPayload:
        return PortalSessionPayload.of(
            await resolvers.reset_password(info, token, password, account)
        )

    @public_mutation(
        "Register as a new client (when the account allows it): a confirmation "
        "link is emailed. The answer does not tell whether the email was known."
    )
    async def register_client(self, info: Info, account: str, input: RegisterClientInput) -> bool:
        return await resolvers.register_client(info, account, input.to_data())

    @mutation(
        "Email a contact a link to set a password.",
        permission=Permission.CLIENTS_MANAGE,
    )
    async def invite_contact(self, info: Info, contact_id: strawberry.ID) -> InvitePayload:
        contact, issued = await resolvers.invite_contact(info, contact_id)
        return InvitePayload(contact=contact, expires_at=issued.link.expires_at)  # type: ignore[arg-type]

    @mutation(
        "The contact's secure dashboard URL; the previous one stops working.",
        permission=Permission.CLIENTS_MANAGE,
    )
    async def create_portal_link(self, info: Info, contact_id: strawberry.ID) -> PortalLinkPayload:
        issued = await resolvers.create_portal_link(info, contact_id)
        contact = await info.context.loaders.contact_by_id.load(issued.link.contact_id)
        return PortalLinkPayload(url=issued.url, contact=contact)  # type: ignore[arg-type]

    @mutation(
        "Sign a contact out everywhere and void its links.",
        permission=Permission.CLIENTS_MANAGE,
    )
    async def revoke_contact_access(
        self, info: Info, contact_id: strawberry.ID
    ) -> Annotated[Contact, strawberry.lazy("schema.clients")]:
        return await resolvers.revoke_contact_access(info, contact_id)  # type: ignore[return-value]

    @mutation("End one session (yours, or a contact's for staff).")
    async def revoke_session(self, info: Info, id: strawberry.ID) -> Session:
        return await resolvers.revoke_session(info, id)  # type: ignore[return-value]
