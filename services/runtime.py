"""What lives as long as the app, shared by every way in (requests, the scheduler,
background jobs, webhook handlers, CLI commands): settings, the database, the signer,
the rate limiter, the mailer, the revocation hub, the event broker, background jobs,
the hashing pool and the file store.

It sits in the services layer so that any layer may hold it; :mod:`services.unit_of_work`
gives the after-commit hooks it to act with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.passwords import PasswordHasherPool
from auth.tokens import TokenSigner
from services.background import Background
from services.config import Settings
from services.db import session_factory
from services.event_log.broker import EventBroker
from services.mail import Mailer
from services.ratelimit import RateLimiter
from services.revocation import RevocationHub
from services.storage import storage_for
from services.storage.base import Storage
from services.webhooks.dispatcher import WebhookDispatcher


@dataclass(slots=True)
class Runtime:
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
    events: EventBroker
    """Numbers committed events and hands them to this instance's subscribers."""
    storage: Storage
    """Where uploaded files live (``services.storage``)."""
    webhooks: WebhookDispatcher | None = None
    """Sends partner webhooks, once the server starts it (``server.webhooks``)."""

    @classmethod
    def build(cls, settings: Settings, engine: AsyncEngine) -> Runtime:
        sessions = session_factory(engine)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            signer=TokenSigner(settings.secret_key.get_secret_value()),
            limiter=RateLimiter(settings.redis_url),
            mailer=Mailer(settings, sessions),
            hub=RevocationHub(settings.redis_url),
            background=Background(),
            passwords=PasswordHasherPool(
                settings.password_hash_concurrency, settings.password_hash_queue
            ),
            events=EventBroker(settings, sessions),
            storage=storage_for(settings),
        )

    @property
    def session_ttl(self) -> timedelta:
        return timedelta(hours=self.settings.session_ttl_hours)
