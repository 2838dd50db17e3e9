"""The events of a credit note's life, one recorder each (:mod:`services.events`).

=====================  ============================  =====================================
verb                   when                          details
=====================  ============================  =====================================
``credit.created``     staff issue a credit note,    ``number``, ``amount``, ``currency``
                       or a plan change credits
                       unused time
``credit.applied``     staff apply part of it to an  ``invoice_id``, ``amount`` (applied
                       invoice                       now), ``balance`` (the credit's, left)
=====================  ============================  =====================================

Amounts are decimal strings. Shown to the client: every credit event (a credit note is
issued to the client). The invoice's side of an application is the invoice's own
``invoice.payment_applied`` (:mod:`.invoices`), which goes to the outbox; credit events
do not.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.activity import Verb
from models.credits import Credit
from models.invoices import Invoice
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    credit: Credit,
    actor: Principal | None,
    details: dict[str, Any],
) -> None:
    activity.record(
        session,
        account_id=credit.account_id,
        actor=actor,
        verb=verb,
        subject_id=credit.id,
        client_id=credit.client_id,
        details=details,
    )


def created(session: AsyncSession, credit: Credit, actor: Principal | None) -> None:
    _record(
        session,
        Verb.CREDIT_CREATED,
        credit,
        actor,
        {"number": credit.number, "amount": str(credit.amount), "currency": credit.currency},
    )


def applied(
    session: AsyncSession,
    credit: Credit,
    actor: StaffPrincipal,
    *,
    invoice: Invoice,
    amount: Decimal,
) -> None:
    _record(
        session,
        Verb.CREDIT_APPLIED,
        credit,
        actor,
        {"invoice_id": str(invoice.id), "amount": str(amount), "balance": str(credit.balance)},
    )
