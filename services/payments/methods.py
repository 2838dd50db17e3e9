"""Payment methods saved for clients: reading them. Adding and removing them go through
the payment gateway."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal
from models.payment_methods import SavedPaymentMethod
from services.access import payment_method_scope
from services.pagination import Page, paginate


@dataclass(slots=True)
class PaymentMethodFilter:
    client_id: uuid.UUID | None = None
    kind: str | None = None


async def list_payment_methods(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: PaymentMethodFilter,
    first: int | None,
    after: str | None,
) -> Page[SavedPaymentMethod]:
    statement = select(SavedPaymentMethod).where(*payment_method_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(SavedPaymentMethod.client_id == filters.client_id)
    if filters.kind is not None:
        statement = statement.where(SavedPaymentMethod.kind == filters.kind.strip().lower())
    return await paginate(session, statement, SavedPaymentMethod, first=first, after=after)
