"""Issuing a subscription's invoices: one per billing period, in advance, and one for the
positive difference of a plan change. Each is issued like a sent invoice (numbered,
recorded, mailed) with its auto-bill row due at once, so the auto-bill path
(:mod:`services.stripe_gateway.auto_bill`) charges it off-session with the
subscription's payment method (else the client's default), retries included."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from models.auto_bill import InvoiceAutoBill
from models.enums import SubscriptionCharge
from models.invoices import Invoice, InvoiceLine
from models.subscriptions import Subscription, SubscriptionInvoice, SubscriptionPlan
from services.events.invoices import IssueSource
from services.invoices import issue_invoice
from services.lines import LineData, build_lines
from services.unit_of_work import UnitOfWork


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


async def issue_period_invoice(
    work: UnitOfWork,
    subscription: Subscription,
    plan: SubscriptionPlan,
    *,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
) -> Invoice | None:
    """The invoice of one billing period; ``None`` for a free plan (nothing to bill).
    ``UNIQUE (subscription_id, kind, period_start)`` refuses a second one."""
    line = LineData(
        description=f"{plan.name}: {_day(period_start)} to {_day(period_end)}",
        quantity=Decimal(subscription.quantity),
        unit_price=plan.amount,
    )
    return await _issue(
        work,
        subscription,
        plan.currency,
        line,
        kind=SubscriptionCharge.PERIOD,
        period_start=period_start,
        period_end=period_end,
        now=now,
    )


async def issue_plan_change_invoice(
    work: UnitOfWork,
    subscription: Subscription,
    *,
    currency: str,
    amount: Decimal,
    description: str,
    period_end: datetime,
    now: datetime,
) -> Invoice | None:
    """The prorated difference of a plan change made at ``now``."""
    line = LineData(description=description, quantity=Decimal(1), unit_price=amount)
    return await _issue(
        work,
        subscription,
        currency,
        line,
        kind=SubscriptionCharge.PLAN_CHANGE,
        period_start=now,
        period_end=period_end,
        now=now,
    )


async def _issue(
    work: UnitOfWork,
    subscription: Subscription,
    currency: str,
    line: LineData,
    *,
    kind: SubscriptionCharge,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
) -> Invoice | None:
    session = work.session
    invoice = Invoice(
        account_id=subscription.account_id,
        client_id=subscription.client_id,
        currency=currency,
        issue_date=now.date(),
        due_date=now.date(),
    )
    rows = build_lines(InvoiceLine, "invoice_id", invoice, [line])
    if invoice.total <= 0:
        return None
    session.add(invoice)
    await session.flush()
    session.add_all(rows)
    session.add(
        SubscriptionInvoice(
            invoice_id=invoice.id,
            account_id=subscription.account_id,
            subscription_id=subscription.id,
            kind=kind,
            period_start=period_start,
            period_end=period_end,
        )
    )
    await session.flush()  # a second invoice for this period fails here (UNIQUE)
    await issue_invoice(work, invoice, actor=None, source=IssueSource.SUBSCRIPTION)
    session.add(
        InvoiceAutoBill(
            invoice_id=invoice.id,
            account_id=invoice.account_id,
            client_id=invoice.client_id,
            subscription_id=subscription.id,
            next_attempt_at=now,
        )
    )
    return invoice
