"""Signing in, turning a bearer token back into a principal, listing and revoking
sessions, signing out: what staff and contact sessions share (contact sessions are
opened in ``services.portal.sessions``).

Revoked sessions are announced after commit (services.revocation), which closes their
open WebSocket connections on every server instance.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, bindparam, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.passwords import PasswordHasherPool
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
from models.enums import PartnerDocuments, SessionKind
from models.types import utcnow
from services.access import access_contact
from services.client_modules import account_modules, portal_modules
from services.db import read_rows
from services.errors import NotFound, RateLimited, Unauthenticated
from services.passwords import verify_password
from services.prepared import once
from services.ratelimit import Budget, RateLimiter
from services.revocation import announce_after_commit
from services.unit_of_work import end_read, write_apart
from services.validation import normalise_email_for_lookup

SIGN_IN_FAILED = "Invalid email or password."
LAST_USED_PRECISION = timedelta(minutes=1)
"""``lastUsedAt`` of API tokens and ``lastSeenAt`` of sessions are written at most this
often, so that reads do not each cost a write."""


@dataclass(frozen=True, slots=True)
class SignInLimits:
    """Failed sign-ins allowed per email and per client address (e.g. ``"5/15 minutes"``)."""

    per_email: str
    per_address: str

    def budgets(self, scope: str, *, email_key: str, client_address: str) -> tuple[Budget, ...]:
        return (
            Budget(self.per_email, (f"{scope}:email", email_key)),
            Budget(self.per_address, (f"{scope}:address", client_address)),
        )


async def verify_staff_credentials(
    *,
    session: AsyncSession,
    limiter: RateLimiter,
    email: str,
    password: str,
    client_address: str,
    limits: SignInLimits,
    passwords: PasswordHasherPool | None = None,
) -> uuid.UUID:
    """The id of the active staff user with these credentials, or :class:`Unauthenticated`.

    Unknown email, wrong password and inactive user all answer the same error after the
    same argon2 work. The attempt counts against the email and the client address before
    it is tried, so parallel attempts cannot exceed the limits, and is given back when it
    succeeds (the limits count failures). The read transaction ends before the hash: no
    transaction stays open while the password is checked (or waits for a hashing slot).
    """
    email_key = normalise_email_for_lookup(email)
    attempt = await limiter.attempt(
        *limits.budgets("sign-in", email_key=email_key, client_address=client_address)
    )
    user = (await session.exec(select(StaffUser).where(StaffUser.email == email_key))).one_or_none()
    user_id, active = (user.id, user.is_active) if user else (None, False)
    password_hash = user.password_hash if user else None
    await end_read(session)  # no transaction stays open while the password is checked
    try:
        valid = await verify_password(password_hash, password, pool=passwords)
    except RateLimited:  # no hashing slot: the attempt was not tried
        await attempt.refund()
        raise
    if user_id is None or not valid or not active:
        raise Unauthenticated(SIGN_IN_FAILED)
    await attempt.refund()
    return user_id


async def open_staff_session(
    *, session: AsyncSession, signer: TokenSigner, user_id: uuid.UUID, ttl: timedelta
) -> str:
    """A session token for the staff user whose credentials were just verified (the
    write half of signing in: one short transaction, no hashing in it)."""
    user = await session.get(StaffUser, user_id)
    if user is None or not user.is_active:  # removed or deactivated since the check
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
    passwords: PasswordHasherPool | None = None,
) -> str:
    """:func:`verify_staff_credentials` then :func:`open_staff_session` in ``session``
    (the caller commits)."""
    user_id = await verify_staff_credentials(
        session=session,
        limiter=limiter,
        email=email,
        password=password,
        client_address=client_address,
        limits=SignInLimits(per_email_limit, per_address_limit),
        passwords=passwords,
    )
    return await open_staff_session(session=session, signer=signer, user_id=user_id, ttl=ttl)


def issue_session_token(signer: TokenSigner, auth_session: AuthSession) -> str:
    return signer.sign(TokenPurpose.SESSION, auth_session.id.hex)


async def sign_out(*, session: AsyncSession, session_id: uuid.UUID) -> None:
    """End the session, and the view-as sessions it opened."""
    auth_session = await session.get(AuthSession, session_id)
    if auth_session is not None and auth_session.revoked_at is None:
        auth_session.revoked_at = utcnow()
        children = await revoke_view_as_sessions_of(session, [session_id])
        announce_after_commit(session, [session_id, *children])


async def revoke_view_as_sessions_of(
    session: AsyncSession, parent_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """Revoke the live view-as sessions opened from these staff sessions (they end with
    them: :func:`principal_for_session` refuses them anyway) and announce them after
    commit, so their WebSockets close; their ids."""
    if not parent_ids:
        return []
    children = list(
        (
            await session.exec(
                select(AuthSession.id).where(
                    col(AuthSession.created_by_session_id).in_(parent_ids),
                    col(AuthSession.revoked_at).is_(None),
                )
            )
        ).all()
    )
    await revoke_sessions(session, children)
    return children


async def revoke_sessions(session: AsyncSession, session_ids: list[uuid.UUID]) -> None:
    """Mark these sessions revoked now and announce them after commit."""
    if not session_ids:
        return
    await session.exec(
        update(AuthSession)
        .where(col(AuthSession.id).in_(session_ids), col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    announce_after_commit(session, session_ids)


async def list_sessions(
    session: AsyncSession, *, principal: AuthenticatedPrincipal, contact_id: uuid.UUID | None
) -> list[AuthSession]:
    """Live sessions: the caller's own, or (staff) those of one contact of the account."""
    statement = select(AuthSession).where(
        AuthSession.account_id == principal.account_id,
        col(AuthSession.revoked_at).is_(None),
        col(AuthSession.expires_at) > utcnow(),
    )
    if contact_id is not None:
        if not isinstance(principal, StaffPrincipal):
            raise NotFound("Contact")
        contact = await access_contact(session, principal, contact_id)
        statement = statement.where(AuthSession.contact_id == contact.id)
    elif isinstance(principal, StaffPrincipal):
        statement = statement.where(
            AuthSession.staff_user_id == principal.user_id, col(AuthSession.contact_id).is_(None)
        )
    elif isinstance(principal, ContactPrincipal):
        statement = statement.where(
            AuthSession.contact_id == principal.contact_id,
            col(AuthSession.read_only).is_(False),
        )
    else:
        return []
    statement = statement.order_by(col(AuthSession.created_at).desc(), col(AuthSession.id))
    return list((await session.exec(statement)).all())


async def revoke_session(
    session: AsyncSession, *, principal: AuthenticatedPrincipal, session_id: uuid.UUID
) -> AuthSession:
    """Revoke one of the caller's own sessions, or (staff) a contact's session."""
    row = (
        await session.exec(
            select(AuthSession).where(
                AuthSession.id == session_id, AuthSession.account_id == principal.account_id
            )
        )
    ).one_or_none()
    allowed = row is not None and (
        (isinstance(principal, StaffPrincipal) and row.contact_id is not None)
        or (
            isinstance(principal, StaffPrincipal)
            and row.staff_user_id == principal.user_id
            and row.contact_id is None
        )
        or (
            isinstance(principal, ContactPrincipal)
            and not principal.read_only
            and row.contact_id == principal.contact_id
            and not row.read_only
        )
    )
    if row is None or not allowed:
        raise NotFound("Session")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        announce_after_commit(session, [row.id])
    if row.kind is SessionKind.STAFF:
        # the "view as client" sessions it opened end with it, sockets included
        await revoke_view_as_sessions_of(session, [row.id])
    return row


async def authenticate(
    *, session: AsyncSession, signer: TokenSigner, token: str, max_age_seconds: int
) -> AuthenticatedPrincipal:
    """The principal behind a bearer token, or :class:`Unauthenticated`."""
    principal, _holder = await identify(
        session=session, signer=signer, token=token, max_age_seconds=max_age_seconds
    )
    return principal


async def identify(
    *, session: AsyncSession, signer: TokenSigner, token: str, max_age_seconds: int
) -> tuple[AuthenticatedPrincipal, SessionHolder | None]:
    """:func:`authenticate`, with the rows a session token was read from (``None`` for
    an API token)."""
    if token.startswith(API_TOKEN_PREFIX):
        return await _authenticate_api_token(session=session, token=token), None
    try:
        raw_id = signer.unsign(TokenPurpose.SESSION, token, max_age_seconds=max_age_seconds)
        session_id = uuid.UUID(hex=str(raw_id))
    except (InvalidToken, ValueError) as error:
        raise Unauthenticated("Invalid or expired token.") from error
    holder = await session_holder(session, session_id)
    return holder.principal, holder


async def principal_for_session(
    session: AsyncSession, session_id: uuid.UUID
) -> StaffPrincipal | ContactPrincipal:
    """The principal of a live session row (revoked, expired, inactive user, archived
    client or portal off: :class:`Unauthenticated`). The one rule for sessions, used for
    bearer tokens and for download links issued to a session."""
    return (await session_holder(session, session_id)).principal


@dataclass(frozen=True, slots=True)
class SessionHolder:
    """A live session's principal, with the rows it was read from: the staff user
    (staff sessions), or the contact's client and account (contact and view-as
    sessions). Resolvers of the same request take them instead of reading them again
    (``resolvers.loaders.Loaders.prime_holder``)."""

    principal: StaffPrincipal | ContactPrincipal
    staff_user: StaffUser | None = None
    client: Client | None = None
    account: Account | None = None


_SESSION_COLUMNS = (
    "id",
    "kind",
    "staff_user_id",
    "contact_id",
    "read_only",
    "created_by_session_id",
    "expires_at",
    "last_seen_at",
    "revoked_at",
)
"""What :func:`session_holder` reads of the session row itself."""


@dataclass(frozen=True, slots=True)
class _Entity:
    """Where a model's row sits in :func:`_holder_statement`'s rows: the attribute
    keys of the columns the ORM would load for it (all but deferred ones), in order,
    from ``start``."""

    model: type[SQLModel]
    keys: tuple[str, ...]
    start: int

    def get(self, values: tuple[Any, ...], key: str) -> Any:
        """The value of attribute ``key`` in a row's ``values``."""
        return values[self.start + self.keys.index(key)]

    def row(self, values: tuple[Any, ...]) -> dict[str, Any]:
        """Every loaded attribute's value, by key."""
        stop = self.start + len(self.keys)
        return dict(zip(self.keys, values[self.start : stop], strict=True))


def _loaded_columns(model: type[SQLModel]) -> list[tuple[str, Any]]:
    """``model``'s (attribute key, column) pairs that an ORM query of it loads."""
    return [
        (prop.key, prop.columns[0]) for prop in sa_inspect(model).column_attrs if not prop.deferred
    ]


@dataclass(frozen=True, slots=True)
class _HolderStatement:
    statement: Select[Any]
    user: _Entity
    client: _Entity
    account: _Entity


@once
def _holder_statement() -> _HolderStatement:
    """The session ``:session_id`` with its holder's rows, as plain columns (built
    once: the id is a parameter): the session's own (:data:`_SESSION_COLUMNS`), the
    contact's id and role, then every column of the staff user, the contact's client
    and its account (NULL where the session has none)."""
    session_table = cast("Any", AuthSession).__table__
    user, contact, client, account = (
        cast("Any", model).__table__ for model in (StaffUser, Contact, Client, Account)
    )
    columns: list[Any] = [session_table.c[name] for name in _SESSION_COLUMNS]
    columns += [contact.c.id, contact.c.role]
    entities = []
    for model in (StaffUser, Client, Account):
        loaded = _loaded_columns(model)
        entities.append(_Entity(model, tuple(key for key, _ in loaded), len(columns)))
        columns += [column for _, column in loaded]
    statement = (
        sa_select(*(column.label(f"c{index}") for index, column in enumerate(columns)))
        .select_from(session_table)
        .outerjoin(user, user.c.id == session_table.c.staff_user_id)
        .outerjoin(contact, contact.c.id == session_table.c.contact_id)
        .outerjoin(client, client.c.id == contact.c.client_id)
        .outerjoin(account, account.c.id == contact.c.account_id)
        .where(session_table.c.id == bindparam("session_id"))
    )
    return _HolderStatement(statement, *entities)


def _as_loaded(session: AsyncSession, entity: _Entity, values: tuple[Any, ...]) -> Any:
    """The persistent ORM instance of ``entity``'s row in ``values``, as an ORM query
    would have given it: the session's own when it has that row already (its unloaded
    attributes filled in), otherwise a new one in the session's identity map with no
    pending changes (:func:`sqlalchemy.orm.make_transient_to_detached`, then
    ``add``: no SQL). The holder's rows are read as plain columns because the ORM's
    execution of the joined statement (its compile state, five entities loaded, four of
    them NULL for a staff session) cost 150 Python calls a request more than reading
    the columns and building these rows (of 2,265 for ``{ viewer { __typename } }``)."""
    row = entity.row(values)
    mapper = sa_inspect(entity.model)
    key = mapper.identity_key_from_primary_key((row["id"],))
    existing = session.identity_map.get(key)
    if existing is not None:
        for name in sa_inspect(existing).unloaded & row.keys():
            set_committed_value(existing, name, row[name])
        return existing
    instance = mapper.class_manager.new_instance()
    instance_dict(instance).update(row)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


async def session_holder(session: AsyncSession, session_id: uuid.UUID) -> SessionHolder:
    """:func:`principal_for_session`, with the rows read: the session and its holder
    (staff user, or contact with client and account) in one statement. Every decision
    is taken on the values just read, never on rows the session may hold already."""
    shape = _holder_statement()
    rows = await read_rows(session, shape.statement, {"session_id": session_id})
    now = utcnow()
    if not rows:
        raise Unauthenticated("Invalid or expired token.")
    values = tuple(rows[0])
    (
        auth_session_id,
        kind,
        staff_user_id,
        contact_id,
        read_only,
        created_by_session_id,
        expires_at,
        last_seen_at,
        revoked_at,
        contact_key,
        contact_role,
    ) = values[: shape.user.start]
    if revoked_at is not None or expires_at <= now:
        raise Unauthenticated("Invalid or expired token.")
    if last_seen_at is None or now - last_seen_at >= LAST_USED_PRECISION:
        touch = update(AuthSession).where(col(AuthSession.id) == auth_session_id)
        await write_apart(session, touch.values(last_seen_at=now))
    user, client, account = shape.user, shape.client, shape.account
    user_id = user.get(values, "id")
    if kind is SessionKind.STAFF and staff_user_id:
        if user_id is None or not user.get(values, "is_active"):
            raise Unauthenticated("Invalid or expired token.")
        staff = StaffPrincipal(
            account_id=user.get(values, "account_id"),
            user_id=user_id,
            role=user.get(values, "role"),
            session_id=auth_session_id,
        )
        return SessionHolder(staff, staff_user=_as_loaded(session, user, values))
    if contact_id is None:  # pragma: no cover - every session names its holder
        raise Unauthenticated("Invalid or expired token.")
    client_id, account_id = client.get(values, "id"), account.get(values, "id")
    if contact_key is None or client_id is None or account_id is None:
        raise Unauthenticated("Invalid or expired token.")
    if (
        not account.get(values, "portal_enabled")
        or not client.get(values, "portal_enabled")
        or client.get(values, "archived_at")
    ):
        raise Unauthenticated("Portal access has ended.")
    if kind is SessionKind.VIEW_AS:
        # its staff user must be active in the account still
        if user_id is None or not user.get(values, "is_active"):
            raise Unauthenticated("Invalid or expired token.")
        if user.get(values, "account_id") != account_id:
            raise Unauthenticated("Invalid or expired token.")
        await _check_view_as_origin(session, created_by_session_id, now=now)
    account_row: Account = _as_loaded(session, account, values)
    client_row: Client = _as_loaded(session, client, values)
    principal = ContactPrincipal(
        account_id=account_id,
        contact_id=contact_key,
        client_id=client_id,
        role=contact_role,
        modules=await portal_modules(session, account_row, client_row),
        session_id=auth_session_id,
        read_only=read_only,
        viewer_staff_id=staff_user_id,
    )
    return SessionHolder(principal, client=client_row, account=account_row)


async def _check_view_as_origin(
    session: AsyncSession, created_by_session_id: uuid.UUID | None, *, now: datetime
) -> None:
    """A view-as session lives while the staff session that opened it is live (rows
    from before that was recorded: its staff user's check only, made by the caller)."""
    if created_by_session_id is None:
        return
    parent = await session.get(AuthSession, created_by_session_id)
    if parent is None or parent.revoked_at is not None or parent.expires_at <= now:
        raise Unauthenticated("Invalid or expired token.")


async def _authenticate_api_token(*, session: AsyncSession, token: str) -> PartnerPrincipal:
    api_token = (
        await session.exec(select(ApiToken).where(ApiToken.token_hash == hash_api_token(token)))
    ).one_or_none()
    principal = await partner_principal(session, api_token)
    now = utcnow()
    if api_token is not None and (
        api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_PRECISION
    ):
        touch = update(ApiToken).where(col(ApiToken.id) == api_token.id)
        await write_apart(session, touch.values(last_used_at=now))
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
    modules = account_modules(account) if account else frozenset()
    return PartnerPrincipal(
        account_id=api_token.account_id,
        token_id=api_token.id,
        scopes=frozenset(api_token.scopes),
        modules=modules,
        registered_documents_only=(
            account is not None and account.partner_documents is PartnerDocuments.REGISTERED
        ),
    )
