"""Stripe objects and events of Stripe's real shape, for the deliveries localstripe never
sends (refunds, disputes, duplicated, reordered, forged): each starts from Stripe's own
example object (``fixtures3_subset.json``, copied unchanged from stripe/openapi's
``openapi/fixtures3.json``), then gets the ids, amounts, statuses and links of the test's
payment at localstripe."""

from __future__ import annotations

import copy
import json
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).with_name("fixtures3_subset.json")
API_VERSION = "2024-06-20"


@cache
def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"]
    return resources


def fixture(name: str) -> dict[str, Any]:
    value: dict[str, Any] = copy.deepcopy(_resources()[name])
    return value


def stripe_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An event of ``kind`` carrying ``obj`` as it was when the event was made."""
    value = fixture("event")
    value |= {
        "id": event_id or stripe_id("evt"),
        "type": kind,
        "created": int(time.time()),
        "api_version": API_VERSION,
        "data": {"object": obj},
    }
    return value


def refund(
    charge: str,
    intent: str,
    units: int,
    *,
    refund_id: str | None = None,
    status: str = "succeeded",
    metadata: dict[str, str] | None = None,
    currency: str = "usd",
) -> dict[str, Any]:
    value = fixture("refund")
    value |= {
        "id": refund_id or stripe_id("re"),
        "charge": charge,
        "payment_intent": intent,
        "amount": units,
        "currency": currency,
        "status": status,
        "metadata": metadata or {},
    }
    return value


def charge(
    charge_id: str,
    intent: str,
    units: int,
    *,
    refunds: list[dict[str, Any]] | None = None,
    amount_refunded: int | None = None,
    listed: bool = True,
    currency: str = "usd",
) -> dict[str, Any]:
    """The charge of ``intent`` (succeeded), with its refunds: listed as in the API
    versions that include them, or only their total (``listed=False``: the current API
    leaves the list out)."""
    refunds = refunds or []
    total = sum(r["amount"] for r in refunds) if amount_refunded is None else amount_refunded
    value = fixture("charge")
    value |= {
        "id": charge_id,
        "payment_intent": intent,
        "amount": units,
        "amount_captured": units,
        "amount_refunded": total,
        "refunded": total == units,
        "captured": True,
        "paid": True,
        "status": "succeeded",
        "currency": currency,
    }
    if listed:
        value["refunds"] = {
            "object": "list",
            "data": refunds,
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        }
    else:
        value.pop("refunds", None)
    return value


def dispute(
    charge: str,
    intent: str,
    units: int,
    *,
    status: str = "needs_response",
    dispute_id: str | None = None,
    currency: str = "usd",
) -> dict[str, Any]:
    value = fixture("dispute")
    value |= {
        "id": dispute_id or stripe_id("dp"),
        "charge": charge,
        "payment_intent": intent,
        "amount": units,
        "currency": currency,
        "status": status,
        "reason": "fraudulent",
    }
    return value
