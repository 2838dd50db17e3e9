"""Signing in and out, and who is calling."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from auth.principals import ContactPrincipal, PartnerPrincipal, StaffPrincipal
from models.accounts import Account, StaffUser
from models.auth import ApiToken
from models.clients import Contact
from resolvers.common import atomic, caller, staff
from resolvers.context import Info
from services import access, accounts, api_tokens, sessions
from services.capabilities import Standing, standing
from services.errors import NotFound, Unauthenticated


async def sign_in(info: Info, email: str, password: str) -> str:
    """Check the credentials outside the transaction (argon2 takes a while, and may wait
    for a slot), then write the session row in a short one."""
    runtime = info.context.runtime
    user_id = await sessions.verify_staff_credentials(
        session=info.context.session,
        limiter=runtime.limiter,
        email=email,
        password=password,
        client_address=info.context.client_address,
        limits=sessions.SignInLimits(
            runtime.settings.sign_in_attempts_per_email,
            runtime.settings.sign_in_attempts_per_address,
        ),
        passwords=runtime.passwords,
    )
    async with atomic(info) as work:
        return await sessions.open_staff_session(
            session=work.session, signer=runtime.signer, user_id=user_id, ttl=runtime.session_ttl
        )


async def sign_out(info: Info) -> bool:
    principal = caller(info)
    if isinstance(principal, PartnerPrincipal):
        return False
    async with atomic(info) as work:
        await sessions.sign_out(session=work.session, session_id=principal.session_id)
    return True


async def viewer(info: Info) -> StaffUser | Contact | ApiToken:
    """The staff user, contact or API token behind the request."""
    principal = caller(info)
    session = info.context.session
    row: StaffUser | Contact | ApiToken | None
    if isinstance(principal, StaffPrincipal):
        row = await info.context.loaders.staff_user_by_id.load(principal.user_id)
    elif isinstance(principal, ContactPrincipal):
        row = (
            await session.exec(
                select(Contact).where(
                    col(Contact.id) == principal.contact_id, *access.contact_scope(principal)
                )
            )
        ).one_or_none()
    else:
        row = (
            await session.exec(
                select(ApiToken).where(
                    col(ApiToken.id) == principal.token_id, *access.api_token_scope(principal)
                )
            )
        ).one_or_none()
    if row is None:  # pragma: no cover - authentication just loaded it
        raise Unauthenticated()
    return row


def is_caller(info: Info, row: object) -> bool:
    """Whether ``row`` (a staff user, contact or API token) is the caller itself."""
    principal = caller(info)
    if isinstance(principal, StaffPrincipal):
        return isinstance(row, StaffUser) and row.id == principal.user_id
    if isinstance(principal, ContactPrincipal):
        return isinstance(row, Contact) and row.id == principal.contact_id
    return isinstance(row, ApiToken) and row.id == principal.token_id


async def standing_of(info: Info, row: object) -> Standing | None:
    """What the account says about the caller (modules, actions its settings turn
    off), when ``row`` is the caller; ``None`` for anyone else."""
    if not is_caller(info, row):
        return None
    return standing(await current_account(info), caller(info))


def read_only(info: Info) -> bool:
    principal = caller(info)
    return isinstance(principal, ContactPrincipal) and principal.read_only


async def current_account(info: Info) -> Account:
    row = await info.context.loaders.account_by_id.load(caller(info).account_id)
    if row is None:  # pragma: no cover - principals always name an existing account
        raise NotFound("Account")
    return row


async def portal(info: Info, account: str) -> Account:
    return await accounts.account_for_portal(info.context.session, slug=account)


async def create_api_token(
    info: Info, name: str, scopes: list[str], expires_at: datetime | None
) -> tuple[ApiToken, str]:
    actor = staff(info)
    async with atomic(info) as work:
        return await api_tokens.create_api_token(
            session=work.session, actor=actor, name=name, scopes=scopes, expires_at=expires_at
        )
