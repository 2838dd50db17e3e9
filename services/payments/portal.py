"""Paying invoices from the portal: what a billing contact may pay and how the amount is
split, and starting the payment.

Charging the card comes with the payment-gateway (Stripe) work: :func:`pay_invoices`
records a PENDING card payment with its planned split, which changes no invoice;
:func:`services.payments.complete_payment` applies it once the provider confirms it, and
:func:`services.payments.fail_payment` marks it failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal
from models.accounts import Account
from models.enums import PaymentMethodKind, PaymentStatus
from models.invoices import Invoice
from models.payments import Payment, PaymentAllocation
from models.types import utcnow
from services.access import access_invoice
from services.errors import BadInput, Conflict, Forbidden, NotFound
from services.events import payments as payment_events
from services.invoices import OPEN_STATUSES, amount_due, deposit_outstanding
from services.money import ZERO, check_amount, format_money

MAX_INVOICES = 100
"""Invoices one portal payment may cover."""


@dataclass(frozen=True, slots=True)
class PlannedShare:
    """One invoice of a portal payment: what is due on it now and what the payment puts
    on it (zero when a partial payment does not reach it)."""

    invoice: Invoice
    amount_due: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    client_id: uuid.UUID
    currency: str
    total_due: Decimal
    amount: Decimal
    shares: list[PlannedShare]
    """In payment order: the oldest due date first."""

    @property
    def unapplied(self) -> Decimal:
        """What an overpayment leaves as the client's credit."""
        return self.amount - sum((share.amount for share in self.shares), ZERO)


def _due_on(invoice: Invoice) -> date | None:
    """The date of what is due now: the deposit's while the deposit is unpaid."""
    if deposit_outstanding(invoice):
        return invoice.deposit_due_date or invoice.due_date
    return invoice.due_date


def _payment_order(invoice: Invoice) -> tuple[bool, date, date, str, uuid.UUID]:
    due = _due_on(invoice)
    return (
        due is None,
        due or date.max,
        invoice.issue_date or date.max,
        invoice.number or "",
        invoice.id,
    )


def require_portal_payments(account: Account) -> None:
    """Contacts pay from the portal only while the account allows it
    (``clientPaymentsEnabled``)."""
    if not account.client_payments_enabled:
        raise Forbidden("Payments from the portal are turned off.")


async def plan_portal_payment(
    *,
    session: AsyncSession,
    contact: ContactPrincipal,
    invoice_ids: Sequence[uuid.UUID],
    amount: Decimal | None,
) -> PaymentPlan:
    """Check what a contact asks to pay and split it over the invoices.

    The account must allow payments from the portal (``clientPaymentsEnabled``). Each
    invoice must be the contact's client's, open (sent, viewed or partly paid) and
    in one currency. What is due on an invoice is its unpaid deposit while a deposit is
    set and not yet covered, else its balance. Without ``amount`` the total due is paid.
    Less than the total due needs the account to allow partial payments and at least its
    minimum payment amount; more needs it to allow overpayments. The amount goes to the
    invoices oldest due date first; an overpayment then goes to their remaining balances,
    in the same order, and what is left stays as the client's credit.
    """
    account = await session.get(Account, contact.account_id)
    if account is None:  # pragma: no cover - a contact's session belongs to an account
        raise NotFound("Account")
    require_portal_payments(account)
    if not invoice_ids:
        raise BadInput("Choose at least one invoice to pay.", field="invoiceIds")
    if len(invoice_ids) > MAX_INVOICES:
        raise BadInput(f"At most {MAX_INVOICES} invoices at once.", field="invoiceIds")
    if len(set(invoice_ids)) != len(invoice_ids):
        raise BadInput("Each invoice may appear once.", field="invoiceIds")
    invoices: list[Invoice] = []
    for index, invoice_id in enumerate(invoice_ids):
        invoice = await access_invoice(session, contact, invoice_id)
        if invoice.status not in OPEN_STATUSES or invoice.balance <= 0:
            raise Conflict(
                f"A {invoice.status.value.lower()} invoice cannot be paid.",
                field=f"invoiceIds.{index}",
            )
        if invoices and invoice.currency != invoices[0].currency:
            raise BadInput(
                "Invoices in different currencies are paid separately.",
                field=f"invoiceIds.{index}",
            )
        invoices.append(invoice)
    currency = invoices[0].currency
    invoices.sort(key=_payment_order)
    dues = [amount_due(invoice) for invoice in invoices]
    total_due = sum(dues, ZERO)
    paying = total_due if amount is None else _check_paying(amount, currency)
    if paying < total_due:
        if not account.allow_partial_payments:
            raise BadInput(
                f"Pay the full amount due of {format_money(total_due, currency)}.",
                field="amount",
            )
        if paying < account.minimum_payment_amount:
            raise BadInput(
                "The smallest payment accepted is "
                f"{format_money(account.minimum_payment_amount, currency)}.",
                field="amount",
            )
    if paying > total_due and not account.allow_overpayment:
        raise BadInput(
            f"Pay at most the amount due of {format_money(total_due, currency)}.",
            field="amount",
        )
    shares = _split(invoices, dues, paying)
    return PaymentPlan(
        client_id=contact.client_id,
        currency=currency,
        total_due=total_due,
        amount=paying,
        shares=shares,
    )


def _check_paying(amount: Decimal, currency: str) -> Decimal:
    return check_amount(amount, currency, field="amount", allow_zero=False)


def _split(invoices: list[Invoice], dues: list[Decimal], amount: Decimal) -> list[PlannedShare]:
    left = amount
    amounts: list[Decimal] = []
    for due in dues:
        share = min(left, due)
        amounts.append(share)
        left -= share
    for index, invoice in enumerate(invoices):
        if left <= 0:
            break
        more = min(left, invoice.balance - amounts[index])
        amounts[index] += more
        left -= more
    return [
        PlannedShare(invoice=invoice, amount_due=due, amount=share)
        for invoice, due, share in zip(invoices, dues, amounts, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class PortalPayment:
    """A started portal payment and the plan it follows."""

    payment: Payment
    plan: PaymentPlan


async def pay_invoices(
    *,
    session: AsyncSession,
    contact: ContactPrincipal,
    invoice_ids: Sequence[uuid.UUID],
    amount: Decimal | None = None,
) -> PortalPayment:
    """Start paying invoices by card: a PENDING payment with its planned allocations.
    No invoice changes until the provider confirms the payment."""
    if contact.read_only:
        raise Forbidden()
    plan = await plan_portal_payment(
        session=session, contact=contact, invoice_ids=invoice_ids, amount=amount
    )
    payment = Payment(
        account_id=contact.account_id,
        client_id=plan.client_id,
        amount=plan.amount,
        currency=plan.currency,
        method=PaymentMethodKind.CARD,
        status=PaymentStatus.PENDING,
        received_on=utcnow().date(),
        provider=None,
    )
    session.add(payment)
    await session.flush()
    for share in plan.shares:
        if share.amount > 0:
            session.add(
                PaymentAllocation(
                    account_id=contact.account_id,
                    payment_id=payment.id,
                    invoice_id=share.invoice.id,
                    amount=share.amount,
                )
            )
    payment_events.started(
        session, payment, contact, invoice_ids=[share.invoice.id for share in plan.shares]
    )
    return PortalPayment(payment=payment, plan=plan)
