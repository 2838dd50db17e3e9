"""Portal links: the signed, revocable URLs that let a contact into the portal.

A link's token is an itsdangerous signature over its :class:`PortalLink` row id, made
with the salt of the link's purpose, so a token minted for one purpose never opens
another. The row decides the rest: one-use links are spent when used (by a conditional
update, so that of concurrent redemptions only one wins), rotated or revoked links stop
at once, and a link stops when the contact's email is no longer the address
it was sent to. Every failure answers the same ``UNAUTHENTICATED`` error.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import event, inspect, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.tokens import InvalidToken, TokenPurpose, TokenSigner
from models.accounts import Account
from models.clients import Client, Contact
from models.enums import LinkPurpose
from models.portal import PortalLink
from models.types import utcnow
from services.config import Settings
from services.errors import Unauthenticated
from services.runtime import Runtime

LINK_FAILED = "This link is invalid or has expired."

SALTS: dict[LinkPurpose, TokenPurpose] = {
    LinkPurpose.MAGIC_LINK: TokenPurpose.MAGIC_LINK,
    LinkPurpose.INVITE: TokenPurpose.INVITE,
    LinkPurpose.DASHBOARD: TokenPurpose.DASHBOARD,
    LinkPurpose.DOCUMENT: TokenPurpose.DOCUMENT_LINK,
    LinkPurpose.PASSWORD_RESET: TokenPurpose.PASSWORD_RESET,
    LinkPurpose.EMAIL_VERIFICATION: TokenPurpose.EMAIL_VERIFICATION,
}

ONE_USE = frozenset(
    {
        LinkPurpose.MAGIC_LINK,
        LinkPurpose.INVITE,
        LinkPurpose.PASSWORD_RESET,
        LinkPurpose.EMAIL_VERIFICATION,
    }
)
"""Spent by their first use; dashboard and document links open the portal again and
again until they are rotated, revoked or expire."""

PATHS: dict[LinkPurpose, str] = {
    LinkPurpose.MAGIC_LINK: "sign-in",
    LinkPurpose.INVITE: "accept-invite",
    LinkPurpose.DASHBOARD: "dashboard",
    LinkPurpose.DOCUMENT: "open",
    LinkPurpose.PASSWORD_RESET: "reset-password",
    LinkPurpose.EMAIL_VERIFICATION: "verify-email",
}


def link_ttl(settings: Settings, purpose: LinkPurpose) -> timedelta | None:
    """How long a new link of ``purpose`` works; ``None``: until rotated or revoked."""
    return {
        LinkPurpose.MAGIC_LINK: timedelta(minutes=settings.magic_link_ttl_minutes),
        LinkPurpose.INVITE: timedelta(days=settings.invite_ttl_days),
        LinkPurpose.DASHBOARD: None,
        LinkPurpose.DOCUMENT: timedelta(days=settings.document_link_ttl_days),
        LinkPurpose.PASSWORD_RESET: timedelta(minutes=settings.password_reset_ttl_minutes),
        LinkPurpose.EMAIL_VERIFICATION: timedelta(days=settings.email_verification_ttl_days),
    }[purpose]


@dataclass(frozen=True, slots=True)
class IssuedLink:
    link: PortalLink
    token: str
    url: str


def portal_url(settings: Settings, account: Account, purpose: LinkPurpose, token: str) -> str:
    """The portal frontend URL that carries ``token`` (the frontend passes it on to
    ``redeemPortalLink`` / ``acceptInvite`` / ``resetPassword``)."""
    return f"{settings.portal_base_url}/{account.slug}/{PATHS[purpose]}?token={quote(token)}"


async def issue_link(
    session: AsyncSession,
    *,
    signer: TokenSigner,
    settings: Settings,
    account: Account,
    contact: Contact,
    purpose: LinkPurpose,
    created_by_id: uuid.UUID | None = None,
    subject: tuple[str, uuid.UUID] | None = None,
) -> IssuedLink:
    ttl = link_ttl(settings, purpose)
    link = PortalLink(
        account_id=contact.account_id,
        contact_id=contact.id,
        purpose=purpose,
        email=contact.email,
        created_by_id=created_by_id,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        expires_at=utcnow() + ttl if ttl is not None else None,
    )
    session.add(link)
    await session.flush()
    token = signer.sign(SALTS[purpose], link.id.hex)
    return IssuedLink(link, token, portal_url(settings, account, purpose, token))


@dataclass(frozen=True, slots=True)
class OpenedLink:
    link: PortalLink
    contact: Contact
    client: Client
    account: Account


def link_id_of(signer: TokenSigner, token: str, purposes: frozenset[LinkPurpose]) -> uuid.UUID:
    """The link row id a token is signed for (one of ``purposes``), or ``UNAUTHENTICATED``:
    the signature only; whether the link still works is the row's to say."""
    for purpose in sorted(purposes):
        try:
            raw = signer.unsign(SALTS[purpose], token, max_age_seconds=None)
            return uuid.UUID(hex=str(raw))
        except (InvalidToken, ValueError):
            continue
    raise Unauthenticated(LINK_FAILED)


async def open_link(
    session: AsyncSession,
    *,
    signer: TokenSigner,
    token: str,
    purposes: frozenset[LinkPurpose],
    account_slug: str | None = None,
    now: datetime | None = None,
) -> OpenedLink:
    """The live link behind ``token`` (locked for update), or ``UNAUTHENTICATED``.

    Refused alike: a bad signature, another purpose's token, an unknown, revoked,
    expired or spent link, a contact whose email changed, an archived client, a portal
    turned off, and (with ``account_slug``) a link of another account."""
    link_id = link_id_of(signer, token, purposes)
    row = (
        await session.exec(
            select(PortalLink, Contact, Client, Account)
            .join(Contact, col(Contact.id) == PortalLink.contact_id)
            .join(Client, col(Client.id) == Contact.client_id)
            .join(Account, col(Account.id) == PortalLink.account_id)
            .where(PortalLink.id == link_id)
            .with_for_update(of=PortalLink)
        )
    ).one_or_none()
    if row is None:
        raise Unauthenticated(LINK_FAILED)
    link, contact, client, account = row
    now = now or utcnow()
    if (
        link.purpose not in purposes
        or link.revoked_at is not None
        or (link.expires_at is not None and link.expires_at <= now)
        or (link.purpose in ONE_USE and link.used_at is not None)
        or link.email != contact.email
        or (account_slug is not None and account.slug != account_slug.strip().lower())
        or not account.portal_enabled
        or not client.portal_enabled
        or client.archived_at is not None
    ):
        raise Unauthenticated(LINK_FAILED)
    return OpenedLink(link, contact, client, account)


def mark_used(link: PortalLink) -> None:
    """Record a use of ``link``; a one-use link is spent by it, once (see
    :func:`_spend_once`: a second redemption that raced this one fails when it flushes)."""
    now = utcnow()
    link.last_used_at = now
    if link.used_at is None:
        link.used_at = now


@event.listens_for(PortalLink, "before_update")
def _spend_once(_mapper: Mapper[PortalLink], connection: Connection, link: PortalLink) -> None:
    """Spend a one-use link with a conditional ``UPDATE ... WHERE used_at IS NULL`` when
    its ``used_at`` is first set: of redemptions racing on one link, whatever the
    database and its locks, exactly one updates the row and the others are refused
    (their transaction rolls back: no session is opened). Runs in the flush of the
    transaction that calls :func:`mark_used`."""
    if link.purpose not in ONE_USE:
        return
    history = inspect(link).attrs.used_at.history
    spent_now = [value for value in history.added if value is not None]
    if not spent_now or any(value is not None for value in history.deleted):
        return
    table = PortalLink.__table__  # type: ignore[attr-defined]
    result = connection.execute(
        update(table)
        .where(table.c.id == link.id, table.c.used_at.is_(None))
        .values(used_at=spent_now[0])
    )
    if result.rowcount != 1:
        raise Unauthenticated(LINK_FAILED)


async def revoke_links(
    session: AsyncSession,
    *,
    contact_ids: list[uuid.UUID],
    purposes: frozenset[LinkPurpose] | None = None,
) -> list[uuid.UUID]:
    """Revoke the live links of these contacts (of ``purposes``, or all); their ids."""
    if not contact_ids:
        return []
    statement = select(PortalLink.id).where(
        col(PortalLink.contact_id).in_(contact_ids), col(PortalLink.revoked_at).is_(None)
    )
    if purposes is not None:
        statement = statement.where(col(PortalLink.purpose).in_(purposes))
    ids = list((await session.exec(statement)).all())
    if ids:
        await session.exec(
            update(PortalLink)
            .where(col(PortalLink.id).in_(ids))
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return ids


def _minutes(ttl: timedelta | None) -> int | None:
    return None if ttl is None else int(ttl.total_seconds() // 60)


async def send_link(
    session: AsyncSession,
    runtime: Runtime,
    *,
    account: Account,
    contact: Contact,
    purpose: LinkPurpose,
    template: str,
    created_by_id: uuid.UUID | None = None,
    subject: tuple[str, uuid.UUID] | None = None,
    extra: dict[str, object] | None = None,
) -> IssuedLink:
    """Issue a link of ``purpose`` to ``contact`` and queue the mail that carries it
    (``extra``: more template context)."""
    issued = await issue_link(
        session,
        signer=runtime.signer,
        settings=runtime.settings,
        account=account,
        contact=contact,
        purpose=purpose,
        created_by_id=created_by_id,
        subject=subject,
    )
    context: dict[str, object] = {
        "contact_name": contact.display_name,
        "link": issued.url,
        "expires_minutes": _minutes(link_ttl(runtime.settings, purpose)),
    }
    context.update(extra or {})
    await runtime.mailer.queue(
        session, account=account, to=contact.email, template=template, context=context
    )
    return issued
