"""Signed tokens (itsdangerous). Each purpose has its own salt, so a token minted for one
purpose never verifies for another; signatures are compared in constant time."""

from __future__ import annotations

import hashlib
import secrets
import traceback
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class TokenPurpose(StrEnum):
    SESSION = "portico.session"
    MAGIC_LINK = "portico.magic-link"
    INVITE = "portico.invite"
    DASHBOARD = "portico.dashboard"
    DOCUMENT_LINK = "portico.document-link"
    DOWNLOAD = "portico.download"
    PASSWORD_RESET = "portico.password-reset"
    EMAIL_VERIFICATION = "portico.email-verification"
    UNSUBSCRIBE = "portico.unsubscribe"


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired or meant for another purpose."""


class TokenSigner:
    def __init__(self, secret_key: str) -> None:
        self._secret_key = secret_key
        self._serializers: dict[TokenPurpose, URLSafeTimedSerializer] = {}

    def _serializer(self, purpose: TokenPurpose) -> URLSafeTimedSerializer:
        if purpose not in self._serializers:
            self._serializers[purpose] = URLSafeTimedSerializer(
                self._secret_key, salt=purpose.value
            )
        return self._serializers[purpose]

    def sign(self, purpose: TokenPurpose, payload: Any) -> str:
        return self._serializer(purpose).dumps(payload)

    def unsign(self, purpose: TokenPurpose, token: str, *, max_age_seconds: int | None) -> Any:
        try:
            return self._serializer(purpose).loads(token, max_age=max_age_seconds)
        except (SignatureExpired, BadSignature, UnicodeDecodeError, ValueError) as error:
            # itsdangerous keeps the error it raises as a local of the frame it raises
            # from (``loads``: ``last_exception``; ``TimestampSigner.unsign``:
            # ``sig_error``), and the error's traceback holds that frame: a cycle, which
            # kept every request with a bad or expired token (its caller's frames, its
            # database session: 24 objects) for the cyclic collector. Its frames have
            # returned; emptied, they keep the lines a log prints, not the cycle.
            traceback.clear_frames(error.__traceback__)
            raise InvalidToken(str(error)) from error


API_TOKEN_PREFIX = "ptk_"


def new_api_token() -> str:
    """A random partner API token (shown once; only its hash is stored)."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
