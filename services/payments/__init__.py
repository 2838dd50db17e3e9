"""Payments, one module per concept: what a payment holds and puts on invoices
(:mod:`.ledger`), payments staff record by hand (:mod:`.manual`), refunds
(:mod:`.refunds`), payments taken through a provider (:mod:`.provider`), paying from the
portal (:mod:`.portal`) and saved payment methods (:mod:`.methods`).

The names below are the package's public actions and types, so callers may write
``payments.record_payment``.
"""

from models.payments import SETTLED_STATUSES
from services.payments.ledger import (
    AllocationData,
    PaymentFilter,
    allocations_of,
    list_payments,
    net_allocated,
    unapplied,
)
from services.payments.manual import (
    MANUAL_METHODS,
    PaymentData,
    apply_payment,
    record_payment,
)
from services.payments.provider import complete_payment, fail_payment
from services.payments.refunds import refund_payment

__all__ = [
    "MANUAL_METHODS",
    "SETTLED_STATUSES",
    "AllocationData",
    "PaymentData",
    "PaymentFilter",
    "allocations_of",
    "apply_payment",
    "complete_payment",
    "fail_payment",
    "list_payments",
    "net_allocated",
    "record_payment",
    "refund_payment",
    "unapplied",
]
