"""Signing in, turning a bearer token back into a principal, signing out."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.passwords import verify_password
from auth.principals import (
    AuthenticatedPrincipal,
    ContactPrincipal,
    PartnerPrincipal,
    StaffPrincipal,
)
from auth.tokens import API_TOKEN_PREFIX, InvalidToken, TokenPurpose, TokenSigner, hash_api_token
from models.accounts import Account, StaffUser
from models.auth import ApiToken, AuthSession
from models.clients import Client, Contact
from models.enums import AutoBill, Module, RecurringStatus, SessionKind
from models.recurring import RecurringInvoice
from models.types import utcnow
from services.errors import Unauthenticated
from services.ratelimit import RateLimiter
from services.revocation import announce_after_commit
from services.validation import normalise_email_for_lookup

SIGN_IN_FAILED = "Invalid email or password."
LAST_USED_PRECISION = timedelta(minutes=1)
"""``lastUsedAt`` of API tokens and ``lastSeenAt`` of sessions are written at most this
often, so that reads do not each cost a write."""


async def sign_in_staff(
    *,
    session: AsyncSession,
    signer: TokenSigner,
    limiter: RateLimiter,
    email: str,
    password: str,
    client_address: str,
    ttl: timedelta,
    per_email_limit: str,
    per_address_limit: str,
) -> str:
    """A session token for the staff user with these credentials.

    Unknown email, wrong password and inactive user all answer the same error after the
    same argon2 work; failures count against the email and the client address.
    """
    email_key = normalise_email_for_lookup(email)
    await limiter.check(per_email_limit, "sign-in:email", email_key)
    await limiter.check(per_address_limit, "sign-in:address", client_address)
    user = (await session.exec(select(StaffUser).where(StaffUser.email == email_key))).one_or_none()
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        await limiter.hit(per_email_limit, "sign-in:email", email_key)
        await limiter.hit(per_address_limit, "sign-in:address", client_address)
        raise Unauthenticated(SIGN_IN_FAILED)
    now = utcnow()
    user.last_sign_in_at = now
    auth_session = AuthSession(
        account_id=user.account_id,
        kind=SessionKind.STAFF,
        staff_user_id=user.id,
        expires_at=now + ttl,
    )
    session.add(auth_session)
    await session.flush()
    return issue_session_token(signer, auth_session)


def issue_session_token(signer: TokenSigner, auth_session: AuthSession) -> str:
    return signer.sign(TokenPurpose.SESSION, auth_session.id.hex)


async def sign_out(*, session: AsyncSession, session_id: uuid.UUID) -> None:
    auth_session = await session.get(AuthSession, session_id)
    if auth_session is not None and auth_session.revoked_at is None:
        auth_session.revoked_at = utcnow()
        announce_after_commit(session, [session_id])


def contact_modules(account: Account, client: Client) -> frozenset[Module]:
    """The modules in force for a client's portal: the account's, narrowed by the client's."""
    enabled = {Module(m) for m in account.enabled_modules}
    if client.modules is not None:
        enabled &= {Module(m) for m in client.modules}
    return frozenset(enabled)


async def pays_recurring_automatically(session: AsyncSession, client_id: uuid.UUID) -> bool:
    """Whether the client has an active recurring invoice that is billed automatically."""
    automatic = or_(
        col(RecurringInvoice.auto_bill) == AutoBill.ALWAYS,
        and_(
            col(RecurringInvoice.auto_bill).in_((AutoBill.OPT_IN, AutoBill.OPT_OUT)),
            col(RecurringInvoice.auto_bill_enabled).is_(True),
        ),
    )
    statement = select(RecurringInvoice.id).where(
        RecurringInvoice.client_id == client_id,
        RecurringInvoice.status == RecurringStatus.ACTIVE,
        automatic,
    )
    return (await session.exec(statement)).first() is not None


async def portal_modules(
    session: AsyncSession, account: Account, client: Client
) -> frozenset[Module]:
    """The modules a contact of ``client`` gets. With the client dashboard
    (``CLIENT_PORTAL``) off, a client paying a recurring invoice automatically keeps that
    recurring invoice's payment settings (seed 000), and nothing else."""
    modules = contact_modules(account, client)
    if Module.CLIENT_PORTAL in modules:
        return modules
    if await pays_recurring_automatically(session, client.id):
        return frozenset({Module.RECURRING_INVOICES})
    return frozenset()


async def open_contact_session(
    *,
    session: AsyncSession,
    contact: Contact,
    ttl: timedelta,
    viewer_staff_id: uuid.UUID | None = None,
    link_id: uuid.UUID | None = None,
) -> AuthSession:
    """A new session row for ``contact``; with ``viewer_staff_id``, a read-only "view as
    client" session of that staff user; ``link_id``: the portal link it was opened with."""
    auth_session = AuthSession(
        account_id=contact.account_id,
        kind=SessionKind.VIEW_AS if viewer_staff_id else SessionKind.CONTACT,
        contact_id=contact.id,
        staff_user_id=viewer_staff_id,
        read_only=viewer_staff_id is not None,
        link_id=link_id,
        expires_at=utcnow() + ttl,
    )
    session.add(auth_session)
    await session.flush()
    return auth_session


async def start_contact_session(
    *,
    session: AsyncSession,
    signer: TokenSigner,
    contact: Contact,
    ttl: timedelta,
    viewer_staff_id: uuid.UUID | None = None,
    link_id: uuid.UUID | None = None,
) -> str:
    """A session token for ``contact`` (see :func:`open_contact_session`)."""
    auth_session = await open_contact_session(
        session=session, contact=contact, ttl=ttl, viewer_staff_id=viewer_staff_id, link_id=link_id
    )
    return issue_session_token(signer, auth_session)


async def authenticate(
    *, session: AsyncSession, signer: TokenSigner, token: str, max_age_seconds: int
) -> AuthenticatedPrincipal:
    """The principal behind a bearer token, or :class:`Unauthenticated`."""
    if token.startswith(API_TOKEN_PREFIX):
        return await _authenticate_api_token(session=session, token=token)
    try:
        raw_id = signer.unsign(TokenPurpose.SESSION, token, max_age_seconds=max_age_seconds)
        session_id = uuid.UUID(hex=str(raw_id))
    except (InvalidToken, ValueError) as error:
        raise Unauthenticated("Invalid or expired token.") from error
    return await principal_for_session(session, session_id)


async def principal_for_session(
    session: AsyncSession, session_id: uuid.UUID
) -> StaffPrincipal | ContactPrincipal:
    """The principal of a live session row (revoked, expired, inactive user, archived
    client or portal off: :class:`Unauthenticated`). The one rule for sessions, used for
    bearer tokens and for download links issued to a session."""
    auth_session = await session.get(AuthSession, session_id)
    now = utcnow()
    if auth_session is None or auth_session.revoked_at is not None:
        raise Unauthenticated("Invalid or expired token.")
    if auth_session.expires_at <= now:
        raise Unauthenticated("Invalid or expired token.")
    if auth_session.last_seen_at is None or now - auth_session.last_seen_at >= LAST_USED_PRECISION:
        auth_session.last_seen_at = now
        await session.commit()
    if auth_session.kind is SessionKind.STAFF and auth_session.staff_user_id:
        user = await session.get(StaffUser, auth_session.staff_user_id)
        if user is None or not user.is_active:
            raise Unauthenticated("Invalid or expired token.")
        return StaffPrincipal(
            account_id=user.account_id,
            user_id=user.id,
            role=user.role,
            session_id=auth_session.id,
        )
    if auth_session.contact_id is None:  # pragma: no cover - every session names its holder
        raise Unauthenticated("Invalid or expired token.")
    row = (
        await session.exec(
            select(Contact, Client, Account)
            .join(Client, Client.id == Contact.client_id)  # type: ignore[arg-type]
            .join(Account, Account.id == Contact.account_id)  # type: ignore[arg-type]
            .where(Contact.id == auth_session.contact_id)
        )
    ).one_or_none()
    if row is None:
        raise Unauthenticated("Invalid or expired token.")
    contact, client, account = row
    if not account.portal_enabled or not client.portal_enabled or client.archived_at:
        raise Unauthenticated("Portal access has ended.")
    if auth_session.kind is SessionKind.VIEW_AS:
        viewer = await session.get(StaffUser, auth_session.staff_user_id)
        if viewer is None or not viewer.is_active or viewer.account_id != account.id:
            raise Unauthenticated("Invalid or expired token.")
    return ContactPrincipal(
        account_id=account.id,
        contact_id=contact.id,
        client_id=client.id,
        role=contact.role,
        modules=await portal_modules(session, account, client),
        session_id=auth_session.id,
        read_only=auth_session.read_only,
        viewer_staff_id=auth_session.staff_user_id,
    )


async def _authenticate_api_token(*, session: AsyncSession, token: str) -> PartnerPrincipal:
    api_token = (
        await session.exec(select(ApiToken).where(ApiToken.token_hash == hash_api_token(token)))
    ).one_or_none()
    principal = await partner_principal(session, api_token)
    now = utcnow()
    if api_token is not None and (
        api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_PRECISION
    ):
        api_token.last_used_at = now
        await session.commit()  # its own short write; the request's reads start afresh
    return principal


async def partner_principal(session: AsyncSession, api_token: ApiToken | None) -> PartnerPrincipal:
    """The principal of a live API token (unknown, revoked or expired:
    :class:`Unauthenticated`)."""
    now = utcnow()
    if (
        api_token is None
        or api_token.revoked_at is not None
        or (api_token.expires_at is not None and api_token.expires_at <= now)
    ):
        raise Unauthenticated("Invalid or expired token.")
    account = await session.get(Account, api_token.account_id)
    modules = frozenset(Module(m) for m in account.enabled_modules) if account else frozenset()
    return PartnerPrincipal(
        account_id=api_token.account_id,
        token_id=api_token.id,
        scopes=frozenset(api_token.scopes),
        modules=modules,
    )
