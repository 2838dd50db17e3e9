"""Access helpers: every read of a row that a request names goes through here.

Each ``*_scope`` returns the conditions that limit a table to what the principal may
see; each ``access_*`` loads one row by id inside that scope. A row outside the scope
answers :class:`NotFound`, exactly like a row that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import (
    Anonymous,
    AuthenticatedPrincipal,
    ContactPrincipal,
    PartnerPrincipal,
    Principal,
    StaffPrincipal,
)
from models.accounts import StaffUser
from models.clients import Client, Contact
from models.enums import InvoiceStatus, QuoteStatus
from models.invoices import Invoice
from models.payments import Payment
from models.quotes import Quote
from services.errors import Forbidden, NotFound, Unauthenticated

RowT = TypeVar("RowT", bound=SQLModel)
Conditions = list[ColumnElement[bool]]

HIDDEN_INVOICE_STATUSES = (InvoiceStatus.DRAFT, InvoiceStatus.VOID)
HIDDEN_QUOTE_STATUSES = (QuoteStatus.DRAFT,)


def require_authenticated(principal: Principal) -> AuthenticatedPrincipal:
    if isinstance(principal, Anonymous):
        raise Unauthenticated()
    return principal


def require_staff(principal: Principal) -> StaffPrincipal:
    if isinstance(principal, StaffPrincipal):
        return principal
    if isinstance(principal, Anonymous):
        raise Unauthenticated()
    raise Forbidden()


def _tenant(model: Any, principal: Principal) -> Conditions:
    if isinstance(principal, Anonymous):
        return [false()]
    return [model.account_id == principal.account_id]


def _own_client(model: Any, principal: Principal) -> Conditions:
    conditions = _tenant(model, principal)
    if isinstance(principal, ContactPrincipal):
        conditions.append(model.client_id == principal.client_id)
    return conditions


def client_scope(principal: Principal) -> Conditions:
    conditions = _tenant(Client, principal)
    if isinstance(principal, ContactPrincipal):
        conditions.append(Client.id == principal.client_id)
    return conditions


def contact_scope(principal: Principal) -> Conditions:
    return _own_client(Contact, principal)


def staff_user_scope(principal: Principal) -> Conditions:
    if not isinstance(principal, StaffPrincipal):
        return [false()]
    return _tenant(StaffUser, principal)


def invoice_scope(principal: Principal) -> Conditions:
    """Contacts and partners never see drafts or voided invoices."""
    conditions = _own_client(Invoice, principal)
    if isinstance(principal, ContactPrincipal | PartnerPrincipal):
        conditions.append(Invoice.status.not_in(HIDDEN_INVOICE_STATUSES))  # type: ignore[attr-defined]
    return conditions


def quote_scope(principal: Principal) -> Conditions:
    conditions = _own_client(Quote, principal)
    if isinstance(principal, ContactPrincipal | PartnerPrincipal):
        conditions.append(Quote.status.not_in(HIDDEN_QUOTE_STATUSES))  # type: ignore[attr-defined]
    return conditions


def payment_scope(principal: Principal) -> Conditions:
    return _own_client(Payment, principal)


async def _access(
    session: AsyncSession,
    model: type[RowT],
    conditions: Conditions,
    row_id: uuid.UUID,
    what: str,
    *,
    lock: bool = False,
) -> RowT:
    """One row in scope; ``lock`` takes a row lock (PostgreSQL ``FOR UPDATE``) for a
    change that reads before it writes."""
    statement = select(model).where(model.id == row_id, *conditions)  # type: ignore[attr-defined]
    if lock:
        statement = statement.with_for_update()
    row = (await session.exec(statement)).one_or_none()
    if row is None:
        raise NotFound(what)
    return row


async def access_client(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, *, lock: bool = False
) -> Client:
    return await _access(session, Client, client_scope(principal), client_id, "Client", lock=lock)


async def access_contact(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID, *, lock: bool = False
) -> Contact:
    return await _access(
        session, Contact, contact_scope(principal), contact_id, "Contact", lock=lock
    )


async def access_invoice(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID, *, lock: bool = False
) -> Invoice:
    return await _access(
        session, Invoice, invoice_scope(principal), invoice_id, "Invoice", lock=lock
    )


async def access_quote(
    session: AsyncSession, principal: Principal, quote_id: uuid.UUID, *, lock: bool = False
) -> Quote:
    return await _access(session, Quote, quote_scope(principal), quote_id, "Quote", lock=lock)


async def access_payment(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID, *, lock: bool = False
) -> Payment:
    return await _access(
        session, Payment, payment_scope(principal), payment_id, "Payment", lock=lock
    )
