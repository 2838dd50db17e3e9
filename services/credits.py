"""Client credits (credit notes): reading them, issuing them and applying them to
invoices, and a client's available credit.

Invariants kept here: a credit's applications never exceed it (``balance`` = amount -
applications, never negative; APPLIED when nothing is left), and an application never
exceeds the invoice's balance.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.credits import Credit, CreditApplication
from models.enums import CreditStatus
from models.payments import SETTLED_STATUSES, Payment, PaymentAllocation
from models.types import utcnow
from services.access import access_client, access_credit, access_invoice, credit_scope
from services.errors import BadInput, Conflict
from services.events import credits as credit_events
from services.events import invoices as invoice_events
from services.invoices import OPEN_STATUSES, next_number, settle_status
from services.money import ZERO, check_amount, format_money, round_money, validate_currency
from services.pagination import Page, paginate
from services.subscription_recovery import invoice_paid
from services.validation import optional_text


@dataclass(slots=True)
class CreditFilter:
    client_id: uuid.UUID | None = None
    statuses: list[CreditStatus] = field(default_factory=list)
    with_balance: bool | None = None
    """``True``: only credits with something left to apply; ``False``: only used-up ones."""


@dataclass(slots=True)
class CreditData:
    client_id: uuid.UUID
    amount: Decimal
    currency: str | None = None
    reason: str | None = None


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


async def create_credit(
    *, session: AsyncSession, actor: StaffPrincipal, data: CreditData
) -> Credit:
    """Issue a credit note to a client, numbered from the account's credit sequence."""
    client = await access_client(session, actor, data.client_id)
    if client.archived_at is not None:
        raise Conflict("Archived clients cannot be given credits.", field="clientId")
    currency = validate_currency(data.currency or client.currency)
    amount = check_amount(data.amount, currency, field="amount", allow_zero=False)
    credit = Credit(
        account_id=actor.account_id,
        client_id=client.id,
        number=await next_number(session, actor.account_id, "credit"),
        currency=currency,
        amount=amount,
        balance=amount,
        status=CreditStatus.OPEN,
        reason=optional_text(data.reason, field="reason", max_length=10000),
        created_by_id=actor.user_id,
    )
    session.add(credit)
    await session.flush()
    credit_events.created(session, credit, actor)
    return credit


async def apply_credit(
    *,
    session: AsyncSession,
    actor: StaffPrincipal,
    credit_id: uuid.UUID,
    invoice_id: uuid.UUID,
    amount: Decimal | None = None,
) -> Credit:
    """Apply part of a credit to an open invoice of the same client and currency.
    Without ``amount``, as much as both allow (the smaller of the credit's balance and
    the invoice's balance)."""
    credit = await access_credit(session, actor, credit_id, lock=True)
    if credit.status is not CreditStatus.OPEN or credit.balance <= 0:
        raise Conflict(f"A {credit.status.value.lower()} credit cannot be applied.")
    invoice = await access_invoice(session, actor, invoice_id, lock=True)
    if invoice.client_id != credit.client_id:
        raise BadInput("This invoice belongs to another client.", field="invoiceId")
    if invoice.currency != credit.currency:
        raise BadInput("This invoice is in another currency.", field="invoiceId")
    if invoice.status not in OPEN_STATUSES:
        raise Conflict(
            f"A {invoice.status.value.lower()} invoice cannot receive credits.", field="invoiceId"
        )
    if amount is None:
        share = min(credit.balance, invoice.balance)
    else:
        share = check_amount(amount, credit.currency, field="amount", allow_zero=False)
    if share > credit.balance:
        raise BadInput(
            f"The credit has only {format_money(credit.balance, credit.currency)} left.",
            field="amount",
        )
    if share > invoice.balance:
        raise BadInput(
            "The amount exceeds the invoice's balance of "
            f"{format_money(invoice.balance, invoice.currency)}.",
            field="amount",
        )
    now = utcnow()
    session.add(
        CreditApplication(
            account_id=credit.account_id, credit_id=credit.id, invoice_id=invoice.id, amount=share
        )
    )
    credit.balance -= share
    if credit.balance == 0:
        credit.status = CreditStatus.APPLIED
    credit.updated_at = now
    invoice.credits_applied += share
    settle_status(invoice)
    invoice.updated_at = now
    credit_events.applied(session, credit, actor, invoice=invoice, amount=share)
    invoice_events.money_applied(session, invoice, actor, amount=str(share), credit_id=credit.id)
    await invoice_paid(session, invoice)
    return credit


@dataclass(frozen=True, slots=True)
class AvailableCredit:
    """What a client may still spend in one currency."""

    currency: str
    credit_notes: Decimal
    """Balances of open credit notes."""
    unapplied_payments: Decimal
    """Parts of received payments neither on invoices nor refunded."""

    @property
    def total(self) -> Decimal:
        return self.credit_notes + self.unapplied_payments


async def available_credit(
    *, session: AsyncSession, principal: Principal, client_id: uuid.UUID
) -> list[AvailableCredit]:
    """The client's available credit per currency (alphabetical), in three statements."""
    client = await access_client(session, principal, client_id)
    notes = (
        await session.exec(
            select(col(Credit.currency), func.sum(Credit.balance))
            .where(
                *credit_scope(principal),
                Credit.client_id == client.id,
                Credit.status == CreditStatus.OPEN,
            )
            .group_by(col(Credit.currency))
        )
    ).all()
    settled = (
        Payment.account_id == client.account_id,
        Payment.client_id == client.id,
        col(Payment.status).in_(SETTLED_STATUSES),
    )
    received = (
        await session.exec(
            select(
                col(Payment.currency), func.sum(Payment.amount), func.sum(Payment.refunded_amount)
            )
            .where(*settled)
            .group_by(col(Payment.currency))
        )
    ).all()
    allocated = (
        await session.exec(
            select(
                col(Payment.currency),
                func.sum(PaymentAllocation.amount),
                func.sum(PaymentAllocation.refunded_amount),
            )
            .join(Payment, col(Payment.id) == col(PaymentAllocation.payment_id))
            .where(*settled)
            .group_by(col(Payment.currency))
        )
    ).all()
    credit_notes: dict[str, Decimal] = defaultdict(lambda: ZERO)
    unapplied: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for currency, total in notes:
        credit_notes[currency] += _decimal(total)
    for currency, amount, refunded in received:
        unapplied[currency] += _decimal(amount) - _decimal(refunded)
    for currency, amount, refunded in allocated:
        unapplied[currency] -= _decimal(amount) - _decimal(refunded)
    currencies = sorted(
        c for c in set(credit_notes) | set(unapplied) if credit_notes[c] or unapplied[c]
    )
    return [
        AvailableCredit(
            currency=c,
            credit_notes=round_money(credit_notes[c], c),
            unapplied_payments=round_money(unapplied[c], c),
        )
        for c in currencies
    ]


def _decimal(value: Decimal | None) -> Decimal:
    """A SQL ``SUM`` of one exact money column (typed by the column, so it comes back
    unscaled); ``None`` when nothing was summed. Differences are taken in Python: an
    expression such as ``amount - refunded`` would lose the column type in SQL."""
    return ZERO if value is None else value
