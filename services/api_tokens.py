"""Partner API tokens: shown once at creation, stored only as a SHA-256 hash."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.policy import PARTNER_SCOPES
from auth.principals import StaffPrincipal
from auth.tokens import hash_api_token, new_api_token
from models.auth import ApiToken
from models.types import utcnow
from services.errors import BadInput, NotFound
from services.events import access as access_events
from services.revocation import announce_after_commit
from services.validation import check_datetime, required_text


async def create_api_token(
    *,
    session: AsyncSession,
    actor: StaffPrincipal,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """The new token row and the token itself (the only time it is readable)."""
    unknown = sorted(set(scopes) - PARTNER_SCOPES)
    if unknown:
        raise BadInput(
            f"Unknown scopes: {', '.join(unknown)}. Known: {', '.join(sorted(PARTNER_SCOPES))}.",
            field="scopes",
        )
    if not scopes:
        raise BadInput("Give the token at least one scope.", field="scopes")
    if expires_at is not None:
        expires_at = check_datetime(expires_at, field="expiresAt")
    if expires_at is not None and expires_at <= utcnow():
        raise BadInput("The expiry must be in the future.", field="expiresAt")
    token = new_api_token()
    row = ApiToken(
        account_id=actor.account_id,
        name=required_text(name, field="name", max_length=100),
        token_prefix=token[:12],
        token_hash=hash_api_token(token),
        scopes=sorted(set(scopes)),
        created_by_id=actor.user_id,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    access_events.api_token_created(session, row, actor)
    return row, token


async def list_api_tokens(*, session: AsyncSession, actor: StaffPrincipal) -> list[ApiToken]:
    """The account's API tokens, newest first (revoked ones included, marked so)."""
    statement = (
        select(ApiToken)
        .where(ApiToken.account_id == actor.account_id)
        .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id))
    )
    return list((await session.exec(statement)).all())


async def revoke_api_token(
    *, session: AsyncSession, actor: StaffPrincipal, token_id: uuid.UUID
) -> ApiToken:
    """Revoke a token: requests with it fail at once and its open subscriptions close."""
    row = (
        await session.exec(
            select(ApiToken).where(ApiToken.id == token_id, ApiToken.account_id == actor.account_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("API token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        announce_after_commit(session, [row.id])
        access_events.api_token_revoked(session, row, actor)
    return row
