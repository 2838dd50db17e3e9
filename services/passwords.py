"""Password hashing as the services use it: argon2 off the event loop, bounded
(:class:`auth.passwords.PasswordHasherPool`); a full pool answers ``RATE_LIMITED``."""

from __future__ import annotations

from auth.passwords import PasswordHasherBusy, PasswordHasherPool, default_pool
from services.errors import RateLimited

BUSY = "Too many sign-ins at once. Try again in a moment."


async def hash_password(password: str, *, pool: PasswordHasherPool | None = None) -> str:
    """An argon2id hash of ``password`` (``pool``: the runtime's; default: a process-wide
    one, for the CLI and seeding)."""
    try:
        return await (pool or default_pool()).hash(password)
    except PasswordHasherBusy as error:
        raise RateLimited(BUSY) from error


async def verify_password(
    password_hash: str | None, password: str, *, pool: PasswordHasherPool | None = None
) -> bool:
    """Whether ``password`` matches; with no hash, the same argon2 work and ``False``."""
    try:
        return await (pool or default_pool()).verify(password_hash, password)
    except PasswordHasherBusy as error:
        raise RateLimited(BUSY) from error
