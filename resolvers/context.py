"""The typed per-request context every resolver receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.passwords import PasswordHasherPool
from auth.principals import Anonymous, Principal
from auth.tokens import TokenSigner
from resolvers.loaders import Loaders
from services.background import Background
from services.config import Settings
from services.db import session_factory
from services.mail import Mailer
from services.portal_auth import LinkServices
from services.ratelimit import RateLimiter
from services.revocation import RevocationHub


@dataclass(slots=True)
class Runtime:
    """What lives as long as the app: settings, the database, signer, rate limiter,
    the mailer and the hub that closes connections of revoked credentials."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    signer: TokenSigner
    limiter: RateLimiter
    mailer: Mailer
    hub: RevocationHub
    background: Background
    passwords: PasswordHasherPool
    """Argon2 in worker threads, bounded (``password_hash_concurrency``/``_queue``)."""

    @classmethod
    def build(cls, settings: Settings, engine: AsyncEngine) -> Runtime:
        sessions = session_factory(engine)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            signer=TokenSigner(settings.secret_key),
            limiter=RateLimiter(settings.redis_url),
            mailer=Mailer(settings, sessions),
            hub=RevocationHub(settings.redis_url),
            background=Background(),
            passwords=PasswordHasherPool(
                settings.password_hash_concurrency, settings.password_hash_queue
            ),
        )

    @property
    def session_ttl(self) -> timedelta:
        return timedelta(hours=self.settings.session_ttl_hours)


@dataclass(slots=True)
class Context:
    runtime: Runtime
    session: AsyncSession
    principal: Principal = field(default_factory=Anonymous)
    client_address: str = "unknown"
    request: Any = None
    connection_params: dict[str, Any] | None = None
    """The WebSocket ``connection_init`` payload (set by Strawberry's protocol handlers)."""
    _loaders: Loaders | None = None
    release: Callable[[], None] | None = None
    """Untracks a WebSocket from the revocation hub when it ends."""

    @property
    def loaders(self) -> Loaders:
        """Per-request DataLoaders, scoped to the principal (built on first use)."""
        if self._loaders is None:
            self._loaders = Loaders(self.session, self.principal)
        return self._loaders

    def reset_principal(self, principal: Principal) -> None:
        """Switch the caller (sign-in on a WebSocket); loaders are rebuilt for it."""
        self.principal = principal
        self._loaders = None


Info = strawberry.Info[Context, None]


def link_services(info: Info) -> LinkServices:
    """What issuing and mailing portal links needs (signer, settings, mailer)."""
    runtime = info.context.runtime
    return LinkServices(runtime.signer, runtime.settings, runtime.mailer, runtime.passwords)
