"""Contact passwords set with a link: ``acceptInvite`` (an invite link) and
``resetPassword`` (a password-reset link). The hash is computed before the transaction
(:func:`hash_password_for_link`), the password set in it (:func:`set_password_with_link`).
Checking a password at sign-in is :mod:`services.portal.sign_in`'s; hashing itself is
:mod:`services.passwords`'s."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.passwords import password_problem
from models.enums import LinkPurpose
from models.types import utcnow
from services.errors import BadInput
from services.events import access as access_events
from services.passwords import hash_password
from services.portal.access import end_contact_access
from services.portal.links import link_id_of, mark_used, open_link
from services.portal.sessions import PortalSession, start_link_session
from services.runtime import Runtime


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
    result, _ = await start_link_session(session, runtime, opened, read_only_for=None)
    if purpose is LinkPurpose.INVITE:
        access_events.invite_accepted(session, contact)
    else:
        access_events.password_reset(session, contact)
    return result
