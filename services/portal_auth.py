"""How contacts get into the portal: magic links, invites, passwords, password resets,
the client's dashboard link, emailed document links and self-registration (seeds 000,
001, 003, 004).

Requests that name an email (magic link, password reset) answer the same whether or not
the email belongs to anyone: the lookup and the mail run in the background
(:func:`send_sign_in_link`), so not even the answer's timing tells.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.passwords import password_problem
from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from models.accounts import Account, StaffUser
from models.auth import AuthSession
from models.clients import Client, Contact
from models.enums import ContactRole, LinkPurpose
from models.types import utcnow
from services.access import access_contact
from services.accounts import account_for_portal
from services.config import Settings
from services.errors import (
    BadInput,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from services.events import access as access_events
from services.events import clients as client_events
from services.invoices import mark_invoice_viewed
from services.passwords import hash_password, verify_password
from services.portal_access import end_contact_access
from services.portal_links import (
    IssuedLink,
    OpenedLink,
    issue_link,
    link_id_of,
    mark_used,
    open_link,
    revoke_links,
    send_link,
)
from services.quotes import mark_quote_viewed
from services.ratelimit import RateLimiter
from services.runtime import Runtime
from services.sessions import (
    SIGN_IN_FAILED,
    SignInLimits,
    issue_session_token,
    open_contact_session,
    portal_modules,
    revoke_sessions,
)
from services.unit_of_work import end_read, unit_of_work
from services.validation import normalise_email, normalise_email_for_lookup, optional_text

REDEEMABLE = frozenset(
    {
        LinkPurpose.MAGIC_LINK,
        LinkPurpose.DASHBOARD,
        LinkPurpose.DOCUMENT,
        LinkPurpose.EMAIL_VERIFICATION,
    }
)
"""Links that ``redeemPortalLink`` exchanges for a session (invites and password resets
need a password: ``acceptInvite``, ``resetPassword``)."""


@dataclass(frozen=True, slots=True)
class PortalSession:
    """A contact session opened from a link; ``subject`` names the document a document
    link opens."""

    token: str
    expires_at: datetime
    contact: Contact
    subject_type: str | None = None
    subject_id: uuid.UUID | None = None
    read_only: bool = False


async def _portal_contact(session: AsyncSession, *, account: Account, email: str) -> Contact | None:
    """The contact of ``account`` with ``email`` who may use the portal now, if any."""
    row = (
        await session.exec(
            select(Contact)
            .join(Client, col(Client.id) == Contact.client_id)
            .where(
                Contact.account_id == account.id,
                Contact.email == email,
                col(Client.archived_at).is_(None),
                col(Client.portal_enabled).is_(True),
            )
        )
    ).one_or_none()
    return row if account.portal_enabled else None


async def check_link_request_limits(
    limiter: RateLimiter, settings: Settings, *, email: str, client_address: str
) -> str:
    """Count a link request against the email and the address; the normalised email."""
    key = normalise_email_for_lookup(email)
    normalise_email(email)  # a malformed address is the caller's mistake: say so
    await limiter.hit(settings.magic_links_per_email, "link:email", key)
    await limiter.hit(settings.magic_links_per_address, "link:address", client_address)
    return key


async def send_sign_in_link(
    runtime: Runtime,
    *,
    account_slug: str,
    email: str,
    purpose: LinkPurpose,
) -> None:
    """Background job: email a magic link (or password-reset link) when ``email`` is an
    active contact of the account's portal; nothing otherwise."""
    template = {LinkPurpose.MAGIC_LINK: "magic_link", LinkPurpose.PASSWORD_RESET: "password_reset"}
    async with runtime.sessions() as session:
        account = (
            await session.exec(select(Account).where(Account.slug == account_slug.strip().lower()))
        ).one_or_none()
        if account is None:
            return
        contact = await _portal_contact(session, account=account, email=email)
        if contact is None:
            return
        async with unit_of_work(runtime, session) as work:  # the reads end; the write begins
            await send_link(
                work.session,
                runtime,
                account=account,
                contact=contact,
                purpose=purpose,
                template=template[purpose],
            )


async def _start_session(
    session: AsyncSession,
    runtime: Runtime,
    opened: OpenedLink,
    *,
    read_only_for: StaffPrincipal | None,
) -> tuple[PortalSession, AuthSession]:
    auth_session = await open_contact_session(
        session=session,
        contact=opened.contact,
        ttl=runtime.session_ttl,
        viewer=read_only_for,
        link_id=opened.link.id,
    )
    result = PortalSession(
        token=issue_session_token(runtime.signer, auth_session),
        expires_at=auth_session.expires_at,
        contact=opened.contact,
        subject_type=opened.link.subject_type,
        subject_id=opened.link.subject_id,
        read_only=read_only_for is not None,
    )
    return result, auth_session


async def _record_document_view(
    session: AsyncSession, opened: OpenedLink, auth_session: AuthSession
) -> None:
    """The client opened an emailed invoice or quote: mark it viewed (as the contact)."""
    if opened.link.subject_id is None:
        return
    contact = ContactPrincipal(
        account_id=opened.account.id,
        contact_id=opened.contact.id,
        client_id=opened.client.id,
        role=opened.contact.role,
        modules=await portal_modules(session, opened.account, opened.client),
        session_id=auth_session.id,
    )
    try:
        if opened.link.subject_type == "invoice":
            await mark_invoice_viewed(
                session=session, actor=contact, invoice_id=opened.link.subject_id
            )
        elif opened.link.subject_type == "quote":
            await mark_quote_viewed(session=session, actor=contact, quote_id=opened.link.subject_id)
    except NotFound:
        return  # voided since it was sent: the portal opens, the document is gone


async def redeem_portal_link(
    session: AsyncSession,
    runtime: Runtime,
    *,
    token: str,
    account_slug: str | None,
    caller: Principal,
) -> PortalSession:
    """Exchange a magic, dashboard, document or email-verification link for a contact
    session. Staff of the same account opening a client's link get a read-only view
    (like "view as client"), and their visit is not recorded as the client's."""
    opened = await open_link(
        session, signer=runtime.signer, token=token, purposes=REDEEMABLE, account_slug=account_slug
    )
    staff_viewer = (
        caller
        if isinstance(caller, StaffPrincipal) and caller.account_id == opened.account.id
        else None
    )
    if staff_viewer is None:
        mark_used(opened.link)
        now = utcnow()
        opened.contact.last_seen_at = now
        if opened.link.purpose is LinkPurpose.EMAIL_VERIFICATION:
            opened.contact.email_verified_at = opened.contact.email_verified_at or now
    result, auth_session = await _start_session(
        session, runtime, opened, read_only_for=staff_viewer
    )
    if staff_viewer is None and opened.link.purpose is LinkPurpose.DOCUMENT:
        await _record_document_view(session, opened, auth_session)
    if staff_viewer is None:
        access_events.signed_in(session, opened.contact, link=opened.link.purpose)
    else:
        access_events.viewed_as(session, opened.contact, staff_viewer, link=opened.link.purpose)
    return result


async def invite_contact(
    session: AsyncSession, runtime: Runtime, *, actor: StaffPrincipal, contact_id: uuid.UUID
) -> tuple[Contact, IssuedLink]:
    """Email the contact a link to set a password; earlier unused invites stop working."""
    contact = await access_contact(session, actor, contact_id)
    client = await session.get(Client, contact.client_id)
    account = await session.get(Account, actor.account_id)
    inviter = await session.get(StaffUser, actor.user_id)
    if account is None or client is None:  # pragma: no cover - access_contact checked both
        raise Conflict("The contact's client is gone.")
    if not account.portal_enabled or not client.portal_enabled or client.archived_at:
        raise Conflict("Turn the portal on for this client before inviting its contacts.")
    await revoke_links(session, contact_ids=[contact.id], purposes=frozenset({LinkPurpose.INVITE}))
    issued = await send_link(
        session,
        runtime,
        account=account,
        contact=contact,
        purpose=LinkPurpose.INVITE,
        created_by_id=actor.user_id,
        template="invite",
        extra={
            "inviter_name": inviter.name if inviter else account.name,
            "expires_days": runtime.settings.invite_ttl_days,
        },
    )
    access_events.invited(session, contact, actor)
    return contact, issued


async def hash_password_for_link(
    runtime: Runtime, *, token: str, password: str, purpose: LinkPurpose
) -> str:
    """The argon2 hash of the new password of ``acceptInvite`` / ``resetPassword``,
    computed before their transaction begins: on SQLite a write transaction holds the
    database's write lock, which no writer should wait on while a password hashes. Only
    a token signed for ``purpose`` gets that far (the link row is checked in the
    transaction, by :func:`set_password_with_link`)."""
    link_id_of(runtime.signer, token, frozenset({purpose}))
    if problem := password_problem(password):
        raise BadInput(problem, field="password")
    return await hash_password(password, pool=runtime.passwords)


async def set_password_with_link(
    session: AsyncSession,
    runtime: Runtime,
    *,
    token: str,
    password_hash: str,
    purpose: LinkPurpose,
    account_slug: str | None,
) -> PortalSession:
    """``acceptInvite`` / ``resetPassword``: set the password (hashed by
    :func:`hash_password_for_link`), spend the link, end the contact's other sessions (a
    reset must lock out whoever had the old password) and open a new session."""
    opened = await open_link(
        session,
        signer=runtime.signer,
        token=token,
        purposes=frozenset({purpose}),
        account_slug=account_slug,
    )
    contact = opened.contact
    contact.password_hash = password_hash
    now = utcnow()
    contact.email_verified_at = contact.email_verified_at or now
    contact.last_seen_at = now
    contact.updated_at = now
    mark_used(opened.link)
    await end_contact_access(session, account_id=opened.account.id, contact_ids=[contact.id])
    result, _ = await _start_session(session, runtime, opened, read_only_for=None)
    if purpose is LinkPurpose.INVITE:
        access_events.invite_accepted(session, contact)
    else:
        access_events.password_reset(session, contact)
    return result


async def verify_contact_password(
    session: AsyncSession,
    runtime: Runtime,
    *,
    limiter: RateLimiter,
    account_slug: str,
    email: str,
    password: str,
    client_address: str,
) -> uuid.UUID:
    """The id of the contact with these credentials, when the account allows password
    sign-in. Unknown account, unknown email, wrong password and no password set answer
    alike, after the same argon2 work.

    The attempt counts against the email and the address before it is tried (parallel
    attempts cannot exceed the limits) and is given back unless the password was wrong
    (the limits count failures). The read transaction ends before the hash."""
    settings = runtime.settings
    email_key = normalise_email_for_lookup(email)
    limits = SignInLimits(
        settings.sign_in_attempts_per_email, settings.sign_in_attempts_per_address
    )
    attempt = await limiter.attempt(
        *limits.budgets("portal-sign-in", email_key=email_key, client_address=client_address)
    )
    account = (
        await session.exec(select(Account).where(Account.slug == account_slug.strip().lower()))
    ).one_or_none()
    if account is not None and account.portal_enabled and not account.password_login_enabled:
        await attempt.refund()
        raise Forbidden("This portal signs in with emailed links only: ask for a sign-in link.")
    contact = await _portal_contact(session, account=account, email=email_key) if account else None
    contact_id, password_hash = (contact.id, contact.password_hash) if contact else (None, None)
    verified = contact is not None and contact.email_verified_at is not None
    await end_read(session)  # no transaction stays open while the password is checked
    try:
        valid = await verify_password(password_hash, password, pool=runtime.passwords)
    except RateLimited:  # no hashing slot: the attempt was not tried
        await attempt.refund()
        raise
    if contact_id is None or not valid:
        raise Unauthenticated(SIGN_IN_FAILED)
    await attempt.refund()
    if not verified:
        raise Unauthenticated("Confirm your email address first: use the link we sent you.")
    return contact_id


async def open_password_session(
    session: AsyncSession, runtime: Runtime, *, contact_id: uuid.UUID
) -> PortalSession:
    """A session for the contact whose password was just verified (the write half of
    ``portalSignIn``: one short transaction, no hashing in it)."""
    contact = await session.get(Contact, contact_id)
    if contact is None:  # removed since the check
        raise Unauthenticated(SIGN_IN_FAILED)
    contact.last_seen_at = utcnow()
    auth_session = await open_contact_session(
        session=session, contact=contact, ttl=runtime.session_ttl
    )
    return PortalSession(
        token=issue_session_token(runtime.signer, auth_session),
        expires_at=auth_session.expires_at,
        contact=contact,
    )


async def create_dashboard_link(
    session: AsyncSession, runtime: Runtime, *, actor: StaffPrincipal, contact_id: uuid.UUID
) -> IssuedLink:
    """The contact's secure dashboard URL (seed 000). A new one replaces the old: the old
    link and every session opened with it stop at once."""
    contact = await access_contact(session, actor, contact_id)
    account = await session.get(Account, actor.account_id)
    if account is None:  # pragma: no cover - the actor's account exists
        raise Conflict("Account not found.")
    old = await revoke_links(
        session, contact_ids=[contact.id], purposes=frozenset({LinkPurpose.DASHBOARD})
    )
    if old:
        opened_with_old = list(
            (
                await session.exec(
                    select(AuthSession.id).where(
                        col(AuthSession.link_id).in_(old), col(AuthSession.revoked_at).is_(None)
                    )
                )
            ).all()
        )
        await revoke_sessions(session, opened_with_old)
    issued = await issue_link(
        session,
        signer=runtime.signer,
        settings=runtime.settings,
        account=account,
        contact=contact,
        purpose=LinkPurpose.DASHBOARD,
        created_by_id=actor.user_id,
    )
    access_events.dashboard_link_created(session, contact, actor, replaced=len(old))
    return issued


@dataclass(frozen=True, slots=True)
class Registration:
    company: str | None
    email: str
    first_name: str
    last_name: str
    phone: str | None = None


async def register_client(
    session: AsyncSession,
    runtime: Runtime,
    *,
    account_slug: str,
    data: Registration,
) -> None:
    """Self-registration (seed 004): a new client with one BILLING contact, who gets a
    link to confirm the email. An email that already has access gets a sign-in link
    instead, and the answer is the same, so registration cannot probe for clients."""
    account = await account_for_portal(session, slug=account_slug)
    if not account.portal_enabled or not account.registration_enabled:
        raise Forbidden("This portal does not take registrations.")
    email = normalise_email(data.email)
    first_name = optional_text(data.first_name, field="firstName", max_length=100) or ""
    last_name = optional_text(data.last_name, field="lastName", max_length=100) or ""
    company = optional_text(data.company, field="company", max_length=200)
    phone = optional_text(data.phone, field="phone", max_length=50)
    if not (first_name or last_name or company):
        raise BadInput("Give your name or your company's.", field="firstName")
    existing = (
        await session.exec(
            select(Contact).where(Contact.account_id == account.id, Contact.email == email)
        )
    ).one_or_none()
    if existing is not None:
        if await _portal_contact(session, account=account, email=email) is not None:
            await send_link(
                session,
                runtime,
                account=account,
                contact=existing,
                purpose=LinkPurpose.MAGIC_LINK,
                template="already_registered",
            )
        return
    name = company or f"{first_name} {last_name}".strip()
    client = Client(
        account_id=account.id,
        name=name,
        company=company,
        email=email,
        phone=phone,
        currency=account.currency,
    )
    session.add(client)
    await session.flush()
    contact = Contact(
        account_id=account.id,
        client_id=client.id,
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        role=ContactRole.BILLING,
        is_primary=True,
    )
    session.add(contact)
    await session.flush()
    await send_link(
        session,
        runtime,
        account=account,
        contact=contact,
        purpose=LinkPurpose.EMAIL_VERIFICATION,
        template="email_verification",
    )
    client_events.registered(session, client)
