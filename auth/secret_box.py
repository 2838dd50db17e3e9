"""Secrets at rest: what the account gives Portico to act for it (Stripe's secret key and
webhook signing secret) is stored encrypted with a key derived from
``PORTICO_SECRET_KEY`` (HKDF-SHA256, one derived key per purpose), with Fernet
(AES-128-CBC + HMAC-SHA256, authenticated). A database dump alone does not reveal them;
rotating ``PORTICO_SECRET_KEY`` means reconnecting Stripe."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretBoxError(Exception):
    """A stored secret that this key cannot open (tampered, or another secret key)."""


class SecretBox:
    def __init__(self, secret_key: str, *, purpose: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"portico:{purpose}".encode()
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError) as error:
            raise SecretBoxError("the stored secret cannot be opened") from error
