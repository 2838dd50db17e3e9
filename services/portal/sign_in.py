"""Signing contacts in: magic links and password-reset links asked for by email, links
redeemed for a session, and password sign-in (seeds 000, 001, 003).

Requests that name an email (magic link, password reset) answer the same whether or not
the email belongs to anyone: the lookup and the mail run in the background
(:func:`send_sign_in_link`), so not even the answer's timing tells.
"""

from __future__ import annotations

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from models.accounts import Account
from models.auth import AuthSession
from models.clients import Client, Contact
from models.enums import LinkPurpose
from models.types import utcnow
from services.client_modules import portal_modules
from services.config import Settings
from services.errors import Forbidden, NotFound, RateLimited, Unauthenticated
from services.events import access as access_events
from services.invoices import mark_invoice_viewed
from services.passwords import verify_password
from services.portal.links import OpenedLink, mark_used, open_link, send_link
from services.portal.sessions import PortalSession, open_contact_session, start_link_session
from services.quotes import mark_quote_viewed
from services.ratelimit import RateLimiter
from services.runtime import Runtime
from services.sessions import SIGN_IN_FAILED, SignInLimits, issue_session_token
from services.unit_of_work import end_read, unit_of_work
from services.validation import normalise_email, normalise_email_for_lookup

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


async def portal_contact(session: AsyncSession, *, account: Account, email: str) -> Contact | None:
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
        contact = await portal_contact(session, account=account, email=email)
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
    result, auth_session = await start_link_session(
        session, runtime, opened, read_only_for=staff_viewer
    )
    if staff_viewer is None and opened.link.purpose is LinkPurpose.DOCUMENT:
        await _record_document_view(session, opened, auth_session)
    if staff_viewer is None:
        access_events.signed_in(session, opened.contact, link=opened.link.purpose)
    else:
        access_events.viewed_as(session, opened.contact, staff_viewer, link=opened.link.purpose)
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
    contact = await portal_contact(session, account=account, email=email_key) if account else None
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
