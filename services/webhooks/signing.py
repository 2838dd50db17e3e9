"""Endpoint secrets and the signature header, as Stripe signs: ``Portico-Signature:
t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the endpoint's secret>``.
A receiver recomputes the HMAC over the raw body and refuses a stale ``t`` (replays).

During a secret's rotation the header carries one ``v1`` per live secret (the new one
first), as Stripe does while rolling a secret: a receiver accepts the delivery when any
of them matches the secret it knows."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from auth.secret_box import SecretBox

SIGNATURE_HEADER = "Portico-Signature"
EVENT_ID_HEADER = "Portico-Event-Id"
SECRET_PREFIX = "whsec_"
SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 200


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"``."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], body: bytes, timestamp: int) -> str:
    signed = ",".join(f"v1={signature(secret, body, timestamp)}" for secret in secrets)
    return f"t={timestamp},{signed}"


def secret_box(secret_key: str) -> SecretBox:
    """Endpoint secrets are kept sealed at rest; deliveries open them to sign."""
    return SecretBox(secret_key, purpose="webhooks")
