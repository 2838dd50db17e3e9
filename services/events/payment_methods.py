"""The events of a saved payment method, one recorder each (:mod:`services.events`).

===============================  ==============================  ==========================
verb                             when                            details
===============================  ==============================  ==========================
``payment_method.saved``         Stripe confirms a card saved    ``kind``, ``brand``,
                                 (a SetupIntent, or a payment    ``last4``, ``source``
                                 that asked to keep the card)    (``setup_intent``,
                                                                 ``payment``), ``default``
``payment_method.default_set``   a contact or staff make it      ``brand``, ``last4``
                                 the default
``payment_method.removed``       removed through the API, or     ``brand``, ``last4``,
                                 detached at Stripe              ``reason`` (``removed``,
                                                                 ``detached``)
===============================  ==============================  ==========================

Shown to the client: every entry (it is the client's own card; the contacts' role and
modules still decide who reads payment-method entries). Card numbers are never known to
Portico: only the brand, the last four digits and the expiry.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal
from models.activity import Verb
from models.payment_methods import SavedPaymentMethod
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    method: SavedPaymentMethod,
    actor: Principal | None,
    details: dict[str, Any],
) -> None:
    activity.record(
        session,
        account_id=method.account_id,
        actor=actor,
        verb=verb,
        subject_id=method.id,
        client_id=method.client_id,
        details={"brand": method.brand, "last4": method.last4} | details,
    )


def saved(session: AsyncSession, method: SavedPaymentMethod, *, source: str) -> None:
    """By the system, on Stripe's word; ``source``: ``setup_intent`` or ``payment``."""
    _record(
        session,
        Verb.PAYMENT_METHOD_SAVED,
        method,
        None,
        {"kind": method.kind, "source": source, "default": method.is_default},
    )


def default_set(session: AsyncSession, method: SavedPaymentMethod, actor: Principal) -> None:
    _record(session, Verb.PAYMENT_METHOD_DEFAULT_SET, method, actor, {})


def removed(
    session: AsyncSession, method: SavedPaymentMethod, actor: Principal | None, *, reason: str
) -> None:
    """``reason``: ``removed`` (through the API) or ``detached`` (at Stripe)."""
    _record(session, Verb.PAYMENT_METHOD_REMOVED, method, actor, {"reason": reason})
