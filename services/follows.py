"""Following tasks and support tickets, the mail followers get about new comments and
replies, and the unsubscribe link in every such mail.

A follower is a staff user or a contact (:class:`models.follows.Follow`). Writing on a
task or a ticket makes its author a follower; so does being assigned it or opening it.
A new comment or reply is mailed to every other follower who may still read it, as their
own schema would show it: staff who are active; contacts of the subject's client whose
portal is open and whose profile reads the subject's type (role and modules, so task
sharing off or the module off stops the mail), never about an INTERNAL task or an
internal ticket note.

Each mail carries an unsubscribe link: a token signed with its own salt
(:attr:`auth.tokens.TokenPurpose.UNSUBSCRIBE`) over the subject and the follower, which
``unsubscribe(token)`` redeems without signing in. The token is the authority; it
names one follower of one subject and does nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.policy import TYPE_READS
from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from auth.profiles import Profile, ProfileKind
from auth.tokens import InvalidToken, TokenPurpose
from models.accounts import Account, StaffUser
from models.clients import Client, Contact
from models.enums import Module
from models.follows import Follow
from models.projects import Task
from models.support import SupportTicket
from services.client_modules import portal_modules
from services.errors import Forbidden, Unauthenticated
from services.events import projects as project_events
from services.events import support as support_events
from services.unit_of_work import UnitOfWork

UNSUBSCRIBE_MAX_AGE_SECONDS = 365 * 24 * 3600
"""An unsubscribe link works for a year (mail is kept that long, at most)."""

UNSUBSCRIBE_FAILED = "This unsubscribe link is invalid or has expired."

Subject = Task | SupportTicket


def subject_type_of(subject: Subject) -> str:
    return "task" if isinstance(subject, Task) else "support_ticket"


@dataclass(frozen=True, slots=True)
class Follower:
    """Who follows: exactly one of a staff user or a contact."""

    staff_user_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None

    @property
    def key(self) -> str:
        if self.staff_user_id is not None:
            return f"staff:{self.staff_user_id}"
        return f"contact:{self.contact_id}"

    @property
    def kind(self) -> str:
        return "staff" if self.staff_user_id is not None else "contact"

    @classmethod
    def of(cls, principal: Principal) -> Follower:
        """The person acting (never a read-only view or a partner)."""
        if isinstance(principal, StaffPrincipal):
            return cls(staff_user_id=principal.user_id)
        if isinstance(principal, ContactPrincipal) and not principal.read_only:
            return cls(contact_id=principal.contact_id)
        raise Forbidden()


async def follow(session: AsyncSession, subject: Subject, follower: Follower) -> bool:
    """Make ``follower`` follow ``subject``; whether it was not following yet. One
    ``INSERT … ON CONFLICT DO NOTHING``, so concurrent follows make one row."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Follow)
        .values(
            id=uuid.uuid4(),
            account_id=subject.account_id,
            subject_type=subject_type_of(subject),
            subject_id=subject.id,
            follower_key=follower.key,
            staff_user_id=follower.staff_user_id,
            contact_id=follower.contact_id,
        )
        .on_conflict_do_nothing(index_elements=["subject_id", "follower_key"])
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def unfollow(session: AsyncSession, subject: Subject, follower: Follower) -> bool:
    """Stop ``follower`` following ``subject``; whether it was following."""
    result = await session.exec(
        delete(Follow).where(
            col(Follow.subject_id) == subject.id, col(Follow.follower_key) == follower.key
        )
    )
    return bool(result.rowcount)


async def is_following(session: AsyncSession, principal: Principal, subject_id: uuid.UUID) -> bool:
    if isinstance(principal, StaffPrincipal):
        key = f"staff:{principal.user_id}"
    elif isinstance(principal, ContactPrincipal):
        key = f"contact:{principal.contact_id}"
    else:
        return False
    row = (
        await session.exec(
            select(Follow.id).where(Follow.subject_id == subject_id, Follow.follower_key == key)
        )
    ).first()
    return row is not None


def unsubscribe_token(work: UnitOfWork, subject: Subject, follower: Follower) -> str:
    return work.runtime.signer.sign(
        TokenPurpose.UNSUBSCRIBE,
        {"t": subject_type_of(subject), "s": str(subject.id), "k": follower.key},
    )


@dataclass(frozen=True, slots=True)
class Unsubscription:
    subject: Subject
    follower: Follower


async def redeem_unsubscribe(work: UnitOfWork, token: str) -> Unsubscription:
    """The subject and follower an unsubscribe token names (:class:`Unauthenticated`
    when it is forged, expired, or its subject is gone)."""
    try:
        payload = work.runtime.signer.unsign(
            TokenPurpose.UNSUBSCRIBE, token, max_age_seconds=UNSUBSCRIBE_MAX_AGE_SECONDS
        )
        kind, raw_id = str(payload["k"]).split(":", 1)
        subject_id = uuid.UUID(str(payload["s"]))
        follower_id = uuid.UUID(raw_id)
        is_task = payload["t"] == "task"
    except (InvalidToken, KeyError, TypeError, ValueError) as error:
        raise Unauthenticated(UNSUBSCRIBE_FAILED) from error
    # The signed token names the row: no caller scope applies to it.
    subject: Subject | None = (
        await work.session.get(Task, subject_id)
        if is_task
        else await work.session.get(SupportTicket, subject_id)
    )
    if subject is None:
        raise Unauthenticated(UNSUBSCRIBE_FAILED)
    follower = (
        Follower(staff_user_id=follower_id) if kind == "staff" else Follower(contact_id=follower_id)
    )
    return Unsubscription(subject, follower)


@dataclass(frozen=True, slots=True)
class Mail:
    """One notification: the template and its context (``link`` is added per contact)."""

    template: str
    context: dict[str, Any]
    portal_path: str
    """Where the subject opens in the portal, below ``/portal/<account>/``."""
    staff_only: bool = False


async def notify_followers(
    work: UnitOfWork, subject: Subject, *, author: Follower, mail: Mail
) -> int:
    """Queue ``mail`` to every follower of ``subject`` but its author who may read the
    subject now; how many mails were queued (delivered after commit)."""
    session = work.session
    account = await session.get(Account, subject.account_id)
    client = await session.get(Client, subject.client_id)
    if account is None or client is None:  # pragma: no cover - the subject's owners exist
        return 0
    follows = (
        await session.exec(
            select(Follow)
            .where(Follow.subject_id == subject.id, Follow.follower_key != author.key)
            .order_by(col(Follow.created_at), col(Follow.id))
        )
    ).all()
    staff_ids = [f.staff_user_id for f in follows if f.staff_user_id is not None]
    contact_ids = [f.contact_id for f in follows if f.contact_id is not None]
    recipients: list[tuple[str, str, Follower, str | None]] = []
    for user in await _staff(session, account.id, staff_ids):
        recipients.append((user.email, user.name, Follower(staff_user_id=user.id), None))
    base = work.runtime.settings.public_base_url.rstrip("/")
    if contact_ids and not mail.staff_only and _contacts_see(account, client, subject):
        portal_link = f"{base}/portal/{account.slug}/{mail.portal_path}"
        modules = await portal_modules(session, account, client)
        for contact in await _contacts(session, client.id, contact_ids):
            if _role_reads(contact, modules, subject):
                follower = Follower(contact_id=contact.id)
                recipients.append((contact.email, contact.display_name, follower, portal_link))
    for address, name, follower, link in recipients:
        token = unsubscribe_token(work, subject, follower)
        unsubscribe_url = f"{base}/portal/{account.slug}/unsubscribe?token={token}"
        await work.runtime.mailer.queue(
            session,
            account=account,
            to=address,
            template=mail.template,
            context={
                **mail.context,
                "contact_name": name,
                "link": link,
                "unsubscribe_url": unsubscribe_url,
            },
            unsubscribe_url=unsubscribe_url,
        )
    return len(recipients)


def _contacts_see(account: Account, client: Client, subject: Subject) -> bool:
    """Whether the client's portal is open and the subject is one contacts see (an
    INTERNAL task is not)."""
    if not (account.portal_enabled and client.portal_enabled and client.archived_at is None):
        return False
    return not isinstance(subject, Task) or subject.shared_with_client


def _role_reads(contact: Contact, modules: frozenset[Module], subject: Subject) -> bool:
    read = TYPE_READS["Task" if isinstance(subject, Task) else "SupportTicket"]
    profile = Profile(ProfileKind.CONTACT, contact_role=contact.role, modules=modules)
    return profile.allows(read.permission, read.module)


async def _staff(
    session: AsyncSession, account_id: uuid.UUID, ids: list[uuid.UUID]
) -> Sequence[StaffUser]:
    if not ids:
        return []
    return (
        await session.exec(
            select(StaffUser).where(
                col(StaffUser.id).in_(ids),
                StaffUser.account_id == account_id,
                col(StaffUser.is_active).is_(True),
            )
        )
    ).all()


async def _contacts(
    session: AsyncSession, client_id: uuid.UUID, ids: list[uuid.UUID]
) -> Sequence[Contact]:
    return (
        await session.exec(
            select(Contact).where(col(Contact.id).in_(ids), Contact.client_id == client_id)
        )
    ).all()


async def unsubscribe(work: UnitOfWork, token: str) -> bool:
    """Redeem an unsubscribe link: its follower stops following its subject (already
    stopped: nothing changes). ``True`` once done."""
    found = await redeem_unsubscribe(work, token)
    if await unfollow(work.session, found.subject, found.follower):
        if isinstance(found.subject, Task):
            project_events.task_following_changed(
                work.session,
                found.subject,
                None,
                following=False,
                follower=found.follower.kind,
                via="unsubscribe_link",
            )
        else:
            support_events.following_changed(
                work.session,
                found.subject,
                None,
                following=False,
                follower=found.follower.kind,
                via="unsubscribe_link",
            )
    return True
