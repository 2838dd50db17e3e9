"""Signed tokens (itsdangerous). Each purpose has its own salt, so a token minted for one
purpose never verifies for another; signatures are compared in constant time."""

from __future__ import annotations

import hashlib
import secrets
import time
import traceback
from collections import OrderedDict
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


VERIFIED_KEPT = 4_096
"""Session tokens whose signature was verified, kept per signer (see :meth:`unsign`)."""


class TokenSigner:
    def __init__(self, secret_key: str) -> None:
        self._secret_key = secret_key
        self._serializers: dict[TokenPurpose, URLSafeTimedSerializer] = {}
        self._verified: OrderedDict[bytes, tuple[str, int]] = OrderedDict()

    def _serializer(self, purpose: TokenPurpose) -> URLSafeTimedSerializer:
        if purpose not in self._serializers:
            self._serializers[purpose] = URLSafeTimedSerializer(
                self._secret_key, salt=purpose.value
            )
        return self._serializers[purpose]

    def sign(self, purpose: TokenPurpose, payload: Any) -> str:
        return self._serializer(purpose).dumps(payload)

    def unsign(self, purpose: TokenPurpose, token: str, *, max_age_seconds: int | None) -> Any:
        """The token's payload, if its signature is this signer's for ``purpose`` and it
        was signed at most ``max_age_seconds`` ago; else :class:`InvalidToken`.

        A session token comes with every request of its session, and checking its HMAC
        (with the base64 and JSON around it) was an eighth of the tiny query's cost. So
        the payload and signing time of a session token that verified are kept, by the
        token's SHA-256 (no token text is compared), and only its age is checked again.
        A token that did not verify is never kept."""
        if purpose is TokenPurpose.SESSION:
            return self._unsign_session(token, max_age_seconds)
        return self._verify(purpose, token, max_age_seconds)

    def _unsign_session(self, token: str, max_age_seconds: int | None) -> Any:
        try:
            key = hashlib.sha256(token.encode()).digest()
        except UnicodeEncodeError as error:  # a lone surrogate: not a token of ours
            raise InvalidToken(str(error)) from None
        kept = self._verified.get(key)
        if kept is None:
            payload, signed = self._verify(
                TokenPurpose.SESSION, token, max_age_seconds, return_timestamp=True
            )
            if type(payload) is str:  # what sessions sign (their id); kept as is
                self._verified[key] = (payload, int(signed.timestamp()))
                if len(self._verified) > VERIFIED_KEPT:
                    self._verified.popitem(last=False)
            return payload
        self._verified.move_to_end(key)
        payload, signed_at = kept
        if max_age_seconds is not None:
            age = int(time.time()) - signed_at  # as itsdangerous measures it
            if age > max_age_seconds:
                raise InvalidToken(f"Signature age {age} > {max_age_seconds} seconds")
            if age < 0:
                raise InvalidToken(f"Signature age {age} < 0 seconds")
        return payload

    def _verify(
        self,
        purpose: TokenPurpose,
        token: str,
        max_age_seconds: int | None,
        *,
        return_timestamp: bool = False,
    ) -> Any:
        try:
            return self._serializer(purpose).loads(
                token, max_age=max_age_seconds, return_timestamp=return_timestamp
            )
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
