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
    amounts: Sequence[tuple[uuid.UUID, Decimal]] | None = None,
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

    With ``amounts`` (invoice, amount) instead of ``amount``, the contact says what goes
    on each invoice (the ones not named pay their amount due): each above zero and at
    most the invoice's balance (never an overpayment), so more than an unpaid deposit up
    to the balance is always accepted; less than an invoice's amount due needs the
    account to allow partial payments, and the payment at least its minimum.
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
    if amounts is not None:
        if amount is not None:
            raise BadInput("Give either an amount or amounts per invoice.", field="amounts")
        shares = _chosen_shares(account, invoices, dues, amounts)
        return PaymentPlan(
            client_id=contact.client_id,
            currency=currency,
            total_due=total_due,
            amount=sum((share.amount for share in shares), ZERO),
            shares=shares,
        )
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


def _chosen_shares(
    account: Account,
    invoices: list[Invoice],
    dues: list[Decimal],
    amounts: Sequence[tuple[uuid.UUID, Decimal]],
) -> list[PlannedShare]:
    """The shares of a payment whose amount per invoice the contact chose."""
    chosen: dict[uuid.UUID, Decimal] = {}
    positions = {invoice.id: invoice for invoice in invoices}
    for index, (invoice_id, value) in enumerate(amounts):
        field = f"amounts.{index}"
        invoice = positions.get(invoice_id)
        if invoice is None:
            raise BadInput("An amount is for one of the invoices paid.", field=f"{field}.invoiceId")
        if invoice_id in chosen:
            raise BadInput("Each invoice may have one amount.", field=f"{field}.invoiceId")
        paying = check_amount(value, invoice.currency, field=f"{field}.amount", allow_zero=False)
        if paying > invoice.balance:
            raise BadInput(
                f"Pay at most the balance of {format_money(invoice.balance, invoice.currency)}"
                f" on {_named(invoice)}.",
                field=f"{field}.amount",
            )
        chosen[invoice_id] = paying
    shares = [
        PlannedShare(invoice=invoice, amount_due=due, amount=chosen.get(invoice.id, due))
        for invoice, due in zip(invoices, dues, strict=True)
    ]
    short = [share for share in shares if share.amount < share.amount_due]
    if short:
        first = short[0]
        currency = first.invoice.currency
        if not account.allow_partial_payments:
            raise BadInput(
                f"Pay the full amount due of {format_money(first.amount_due, currency)} on "
                f"{_named(first.invoice)}.",
                field=f"amounts.{_index_of(amounts, first.invoice.id)}.amount",
            )
        total = sum((share.amount for share in shares), ZERO)
        if total < account.minimum_payment_amount:
            raise BadInput(
                "The smallest payment accepted is "
                f"{format_money(account.minimum_payment_amount, currency)}.",
                field="amounts",
            )
    return shares


def _named(invoice: Invoice) -> str:
    return f"invoice {invoice.number}" if invoice.number else "this invoice"


def _index_of(amounts: Sequence[tuple[uuid.UUID, Decimal]], invoice_id: uuid.UUID) -> int:
    return next(i for i, (chosen, _value) in enumerate(amounts) if chosen == invoice_id)


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
    amounts: Sequence[tuple[uuid.UUID, Decimal]] | None = None,
) -> PortalPayment:
    """Start paying invoices by card: a PENDING payment with its planned allocations.
    No invoice changes until the provider confirms the payment."""
    if contact.read_only:
        raise Forbidden()
    plan = await plan_portal_payment(
        session=session, contact=contact, invoice_ids=invoice_ids, amount=amount, amounts=amounts
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
