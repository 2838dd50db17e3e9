"""The events of a client's recurring pre-payment, one recorder each (:mod:`services.events`).

==================================  ===============================  =======================
verb                                when                             details
==================================  ===============================  =======================
``recurring_prepayment.created``    a billing contact starts one     ``amount``,
                                                                     ``currency``,
                                                                     ``frequency``,
                                                                     ``cycles``
``recurring_prepayment.charged``    the scheduler tried a cycle      ``payment_id``,
                                    (each retry too)                 ``charge``,
                                                                     ``attempt``,
                                                                     ``status``
``recurring_prepayment.canceled``   the contact stops it, or its     none
                                    first payment failed
``recurring_prepayment.completed``  its last cycle was charged       ``charges``
==================================  ===============================  =======================

Amounts are decimal strings; ``cycles`` is ``None`` for one that runs until canceled.
Each payment's own events (``payment.started``, ``payment.completed``, ...) follow from
:mod:`.payments`. Shown to the client: every event (it is the client's own money). These
events do not go to the outbox.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal
from models.activity import Verb
from models.prepayments import RecurringPrepayment
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    prepayment: RecurringPrepayment,
    actor: Principal | None,
    details: dict[str, Any] | None = None,
) -> None:
    activity.record(
        session,
        account_id=prepayment.account_id,
        actor=actor,
        verb=verb,
        subject_id=prepayment.id,
        client_id=prepayment.client_id,
        details=details,
    )


def created(
    session: AsyncSession, prepayment: RecurringPrepayment, actor: ContactPrincipal
) -> None:
    _record(
        session,
        Verb.RECURRING_PREPAYMENT_CREATED,
        prepayment,
        actor,
        {
            "amount": str(prepayment.amount),
            "currency": prepayment.currency,
            "frequency": prepayment.frequency.value,
            "cycles": prepayment.cycles,
        },
    )


def charged(
    session: AsyncSession,
    prepayment: RecurringPrepayment,
    *,
    payment_id: uuid.UUID | None,
    status: str,
) -> None:
    """By the system; ``status``: ``charging`` or why nothing could be (``no_method``,
    ``not_connected``)."""
    _record(
        session,
        Verb.RECURRING_PREPAYMENT_CHARGED,
        prepayment,
        None,
        {
            "payment_id": str(payment_id) if payment_id else None,
            "charge": prepayment.charges,
            "attempt": prepayment.attempts,
            "status": status,
        },
    )


def canceled(
    session: AsyncSession, prepayment: RecurringPrepayment, actor: Principal | None
) -> None:
    """``actor`` is ``None`` when the first payment failed (no schedule starts from it)."""
    _record(session, Verb.RECURRING_PREPAYMENT_CANCELED, prepayment, actor)


def completed(session: AsyncSession, prepayment: RecurringPrepayment) -> None:
    _record(
        session,
        Verb.RECURRING_PREPAYMENT_COMPLETED,
        prepayment,
        None,
        {"charges": prepayment.charges},
    )
