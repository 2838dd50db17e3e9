"""Client credits (credit notes): reading them. Creating and applying credits come with
the billing work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal
from models.credits import Credit
from models.enums import CreditStatus
from services.access import credit_scope
from services.pagination import Page, paginate


@dataclass(slots=True)
class CreditFilter:
    client_id: uuid.UUID | None = None
    statuses: list[CreditStatus] = field(default_factory=list)
    with_balance: bool | None = None
    """``True``: only credits with something left to apply; ``False``: only used-up ones."""


async def list_credits(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: CreditFilter,
    first: int | None,
    after: str | None,
) -> Page[Credit]:
    statement = select(Credit).where(*credit_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(Credit.client_id == filters.client_id)
    if filters.statuses:
        statement = statement.where(Credit.status.in_(filters.statuses))  # type: ignore[attr-defined]
    if filters.with_balance is True:
        statement = statement.where(Credit.balance > 0)
    elif filters.with_balance is False:
        statement = statement.where(Credit.balance <= 0)
    return await paginate(session, statement, Credit, first=first, after=after)
