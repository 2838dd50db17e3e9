"""What happened to a card payment after it was received: the refunds asked of Stripe and
its dispute, read below :class:`schema.payments.Payment`.

A refund moves money only once Stripe confirms it (``SUCCEEDED``); until then it is
``PENDING``, and a refund Stripe could not make is ``FAILED`` with its reason, which only
staff read. A manual payment's refund is recorded at once and leaves no row here (its
``refundedAmount`` says it all).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from auth.policy import Permission
from models.enums import RefundStatus
from schema.fields import field, id_field, money

strawberry.enum(RefundStatus, description="Where a refund asked of Stripe is.")


@strawberry.type(description="A refund of a card payment, asked of Stripe.")
class PaymentRefund:
    id: strawberry.ID = id_field()
    amount: Decimal = money("amount", "Amount refunded (or to be).")
    currency: str = field("ISO 4217 currency.")
    status: RefundStatus = field("PENDING until Stripe confirms it; FAILED if it could not.")
    failure_reason: str | None = field(
        "Why Stripe could not make it.", permission=Permission.INTERNAL_READ
    )
    provider_refund_id: str | None = field(
        "Stripe's id for it.", permission=Permission.PROVIDER_IDS_READ
    )
    created_at: datetime = field("When it was asked for (or made in Stripe's dashboard).")
    confirmed_at: datetime | None = field("When Stripe confirmed it: the money moved then.")


@strawberry.type(description="A card payment's dispute (chargeback), as Stripe last described it.")
class PaymentDispute:
    provider_dispute_id: str = field(
        "Stripe's id for it.",
        permission=Permission.PROVIDER_IDS_READ,
        resolver=lambda root: root.id,
    )
    amount: Decimal = money("amount", "Amount disputed.")
    currency: str = field("ISO 4217 currency.")
    status: str = field(
        "Stripe's status: warning_needs_response, needs_response, under_review, won, lost, "
        "warning_closed."
    )
    reason: str | None = field("The reason the card holder's bank gave (Stripe's code).")
    created_at: datetime = field("When it was opened.")
