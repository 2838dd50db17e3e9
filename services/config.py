"""Configuration from ``PORTICO_*`` environment variables, validated once at start-up.

Defined here, below the services that read it; ``server.settings`` loads it.

Secrets (``secret_key``, ``smtp_password``) are :class:`~pydantic.SecretStr`: read them
with ``.get_secret_value()``. ``repr(settings)`` shows neither them nor the password of
a database or Redis URL, so settings can be logged or printed in a traceback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.ratelimit import parse_limit

DEVELOPMENT_SECRET = "portico-development-secret-change-me"
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
"""Base of links when ``PORTICO_PUBLIC_BASE_URL`` is not set (``portico serve`` uses the
address it actually serves instead)."""

ASYNC_DRIVERS = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
"""URL schemes without a driver, and the async driver Portico uses for them."""

MASKED = "***"
_PASSWORD_PARAMETER = re.compile(r"(?i)((?:^|[?&;])password=)[^&;]*")


def mask_url_password(url: str) -> str:
    """``url`` with the password of its user part (``user:password@``) and of any
    ``password=`` query parameter replaced by ``***``."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.partition(':')[0]}:{MASKED}@{host}"
    path = _PASSWORD_PARAMETER.sub(lambda found: found.group(1) + MASKED, path)
    return f"{scheme}://{authority}{slash}{path}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTICO_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///var/portico.sqlite3"
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL
    """Base of links in mails, ``createPortalLink`` and ``pdfUrl``. When it is not set,
    ``portico serve`` fills it from ``--host``/``--port`` (see
    :attr:`public_base_url_is_set`)."""
    redis_url: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    upload_dir: Path = Path("var/uploads")
    """Where uploaded files are kept, unless an S3-compatible store is configured."""
    upload_max_bytes: int = Field(default=25_000_000, gt=0)
    """Largest file ``uploadDocument`` accepts. A multipart request may be this much larger
    than ``max_body_bytes`` (the limit of every other body); it is refused while it streams."""
    branding_image_max_bytes: int = Field(default=2_000_000, gt=0)
    """Largest logo or portal background image."""
    # S3-compatible storage (services/storage/s3.py): used when s3_bucket is set
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    """Another S3-compatible service (MinIO, R2, ...); ``None``: AWS."""
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_prefix: str = ""
    """Prepended to every key, to share a bucket (e.g. ``portico/``)."""
    # Mail: with no SMTP host, mails are printed and kept in the outbox table
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_use_tls: bool = False
    smtp_start_tls: bool | None = None  # None: upgrade when the server offers STARTTLS
    smtp_timeout_seconds: float = 30
    mail_from: str = "Portico <no-reply@portico.test>"
    mail_max_attempts: int = 5  # then the mail is marked FAILED
    mail_retry_seconds: float = 60  # first retry after this; each later one waits twice as long
    # Sessions and limits
    session_ttl_hours: int = 24 * 14
    download_url_ttl_seconds: int = Field(default=600, gt=0)
    """How long a signed PDF download URL (``pdfUrl``) works."""
    sign_in_attempts_per_email: str = "5/15 minutes"
    sign_in_attempts_per_address: str = "30/15 minutes"
    schema_cache_size: int = 256
    compiled_execution: bool = True
    """Queries run from a plan built once per document (schema/compiled_execution.py);
    ``PORTICO_COMPILED_EXECUTION=false`` runs everything through graphql-core's own
    execution."""
    query_concurrency: int | None = Field(default=None, ge=0)
    """Queries a worker executes at once, of those it has run before (kept operations,
    schema/prepared_operations.py); the others wait their turn (server/query_slots.py).
    ``None``: 2 on SQLite, 4 on PostgreSQL, where the bench's pages were served fastest;
    0: no limit."""
    # Query limits (checked before any resolver runs; see schema/limits.py and the README)
    query_max_cost: int = Field(default=5000, gt=0)
    query_max_depth: int = Field(default=12, gt=0)
    query_max_aliases: int = Field(default=30, gt=0)
    query_max_tokens: int = Field(default=10_000, gt=0)
    query_max_directives: int = Field(default=50, gt=0)
    query_max_operations: int = Field(default=10, gt=0)
    """Operation definitions per document."""
    introspection: Literal["everyone", "staff", "off"] | None = None
    """Who may introspect the schema (and gets the GraphiQL page: not with "off"); None:
    everyone outside production, signed-in staff in production (:attr:`introspection_for`)."""
    # Automatic persisted queries (server/persisted_queries.py): in memory, the documents
    # kept are bounded by their total length; in Redis (redis_url), each expires
    persisted_query_cache_chars: int = Field(default=2_000_000, gt=0)
    persisted_query_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    # Resource limits
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    """Request bodies above this are answered 413 before they are read whole."""
    execution_timeout_seconds: float = Field(default=15, gt=0)
    max_response_bytes: int = Field(default=10_000_000, gt=0)
    password_hash_concurrency: int = Field(default=2, gt=0)
    """Password hashes computed at once (off the event loop); more callers wait in line."""
    password_hash_queue: int = Field(default=32, ge=0)
    """Callers that may wait for a hashing slot; beyond them, ``RATE_LIMITED``."""
    pdf_render_concurrency: int = Field(default=2, gt=0)
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses or networks (CIDR) of reverse proxies whose ``X-Forwarded-For`` is believed;
    by default none, and the client address is the connection's peer."""
    # Portal links (the portal frontend lives at portal_url; default: under public_base_url)
    portal_url: str | None = None
    magic_link_ttl_minutes: int = 15
    invite_ttl_days: int = 7
    password_reset_ttl_minutes: int = 60
    email_verification_ttl_days: int = 3
    document_link_ttl_days: int = 90
    magic_links_per_email: str = "3/15 minutes"
    magic_links_per_address: str = "20/15 minutes"
    registrations_per_address: str = "5/hour"
    # Recurring invoices: the in-process scheduler (safe on every instance at once)
    scheduler_enabled: bool = True
    scheduler_interval_seconds: int = Field(default=60, gt=0)
    # Stored files no row names (services/orphaned_files.py): swept this often, once older
    # than the grace period (which keeps uploads in flight safe)
    storage_sweep_interval_seconds: int = Field(default=6 * 3600, gt=0)
    storage_sweep_grace_hours: float = Field(default=24, gt=0)
    # Stripe: where the official library sends its requests (tests: a localstripe process)
    stripe_api_base: str = "https://api.stripe.com"
    # Partner events (invoiceChanged, webhooks)
    event_retention_days: int = Field(default=30, gt=0)
    event_poll_seconds: float = Field(default=2, gt=0)  # the relay's safety net
    ws_init_timeout_seconds: float = Field(default=10, gt=0)  # then 4408
    ws_max_subscriptions: int = Field(default=100, gt=0)  # per connection; then 4429
    # Partner webhooks (services/webhooks/): retries double from webhook_retry_seconds up
    # to webhook_retry_max_seconds, for webhook_retry_window_hours; an endpoint failing that
    # long is disabled. Private, loopback and link-local targets, plain http outside
    # development/test and ports other than 80/443 only with webhook_allow_private.
    webhook_dispatcher_enabled: bool = True
    webhook_poll_seconds: float = Field(default=2, gt=0)
    webhook_timeout_seconds: float = Field(default=10, gt=0)
    webhook_retry_seconds: float = Field(default=60, gt=0)
    webhook_retry_max_seconds: float = Field(default=6 * 3600, gt=0)
    webhook_retry_window_hours: float = Field(default=72, gt=0)
    webhook_allow_private: bool = False
    # The cyclic garbage collector's thresholds (gc.set_threshold), set at start-up. The
    # default's 700 young objects made a collection every few hundred allocations; with
    # 10,000 subscriptions that was 72% of the CPU spent fanning out one event
    # (bench/results/subscribers.json).
    gc_thresholds: tuple[int, int, int] = (50_000, 50, 1_000)
    log_level: str = "INFO"
    log_json: bool = False

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name in _URLS_WITH_PASSWORDS and isinstance(value, str):
                yield name, mask_url_password(value)
            else:
                yield name, value

    @property
    def introspection_for(self) -> str:
        """The introspection policy in force: "everyone", "staff" or "off"."""
        if self.introspection is not None:
            return self.introspection
        return "staff" if self.environment == "production" else "everyone"

    @property
    def portal_base_url(self) -> str:
        """Where the portal frontend lives; links in mails point there."""
        return (self.portal_url or f"{self.public_base_url.rstrip('/')}/portal").rstrip("/")

    @property
    def public_base_url_is_set(self) -> bool:
        """Whether ``public_base_url`` was given (environment, ``.env`` or constructor)
        rather than left at its default."""
        return "public_base_url" in self.model_fields_set

    @field_validator("database_url")
    @classmethod
    def _choose_the_async_driver(cls, value: str) -> str:
        scheme, separator, rest = value.partition("://")
        if not separator or not scheme or not rest:
            raise ValueError(
                "expected a database URL such as sqlite+aiosqlite:///var/portico.sqlite3"
                " or postgresql+asyncpg://user@host/db"
            )
        return f"{ASYNC_DRIVERS.get(scheme.lower(), scheme)}://{rest}"

    @field_validator(
        "sign_in_attempts_per_email",
        "sign_in_attempts_per_address",
        "magic_links_per_email",
        "magic_links_per_address",
        "registrations_per_address",
    )
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        parse_limit(value)  # raises, saying what is expected
        return value

    @field_validator("public_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 -- raises on a malformed port
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.query
            or parts.fragment
        ):
            raise ValueError(
                f"expected an http(s) URL such as https://billing.example.com, got {value!r}"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        secret_key = self.secret_key.get_secret_value()
        if self.environment == "production" and secret_key == DEVELOPMENT_SECRET:
            raise ValueError(
                "PORTICO_SECRET_KEY must be set to a private random value in production"
            )
        if self.environment == "production" and len(secret_key) < 32:
            raise ValueError("PORTICO_SECRET_KEY must be at least 32 characters in production")
        return self


_URLS_WITH_PASSWORDS = frozenset({"database_url", "redis_url"})
"""Settings shown in ``repr(settings)`` with their password masked."""
