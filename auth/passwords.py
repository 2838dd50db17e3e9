"""Password hashing with argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)

MIN_PASSWORD_LENGTH = 10

# Verified against when an email is unknown, so both paths cost one argon2 verification
# and an attacker cannot tell from the timing which emails exist.
_DUMMY_HASH = _hasher.hash("portico-timing-equaliser")


def use_cheapest_parameters() -> None:
    """Switch to argon2's cheapest parameters: for test suites only, where hundreds of
    hashes would otherwise dominate the run. Existing hashes still verify."""
    global _hasher, _DUMMY_HASH  # a deliberate process-wide switch
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _DUMMY_HASH = _hasher.hash("portico-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no hash, spends the same time and says no."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Why ``password`` is too weak, or ``None`` when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if password.isdigit() or (password.isalpha() and password.lower() == password):
        return "Password must mix letters with digits, capitals or symbols."
    return None
