"""Sweeping stored files that no row names any more.

Uploads store their bytes before the row that names them commits, and deleting a row
deletes its file after the commit (:mod:`services.document_uploads`,
:mod:`services.branding`). Both clean up after themselves when they fail, but a process
killed between the two steps, or a storage outage during an after-commit delete, leaves
a file behind that nothing serves and nothing would ever delete. The sweep finds them:
every file under the prefixes Portico writes (``documents/``, ``branding/``) that is older
than the grace period and is named by no document and by no account's logo or
background image is deleted, and so are writes that never finished.

The grace period (``storage_sweep_grace_hours``, default 24) is what keeps an upload in
flight safe: its file is seconds old when its row commits, and the sweep only looks at
files written before the period began. Every instance may sweep (deleting is idempotent);
the scheduler does it every ``storage_sweep_interval_seconds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlmodel import col, select

from models.accounts import Account
from models.documents import Document
from services.branding import BRANDING_PREFIX
from services.runtime import Runtime

log = structlog.get_logger("portico.storage")

DOCUMENTS_PREFIX = "documents/"
SWEPT_PREFIXES = (DOCUMENTS_PREFIX, BRANDING_PREFIX)
"""Where Portico writes; nothing else in a shared bucket is touched."""

BATCH = 500
"""Keys checked against the database per statement."""


@dataclass
class Sweep:
    """What one sweep found."""

    deleted: list[str] = field(default_factory=list)
    """The orphaned files deleted."""
    kept: int = 0
    """Files old enough to look at that a row still names."""
    partials: int = 0
    """Unfinished writes forgotten."""


async def sweep_orphaned_files(runtime: Runtime, *, now: datetime) -> Sweep:
    """Delete the files under :data:`SWEPT_PREFIXES` written before the grace period
    that no row names, and the unfinished writes begun before it."""
    cutoff = now - timedelta(hours=runtime.settings.storage_sweep_grace_hours)
    sweep = Sweep()
    for prefix in SWEPT_PREFIXES:
        batch: list[str] = []
        async for stored in runtime.storage.listing(prefix):
            if stored.modified_at < cutoff:
                batch.append(stored.key)
            if len(batch) >= BATCH:
                await _delete_unnamed(runtime, batch, sweep)
                batch = []
        if batch:
            await _delete_unnamed(runtime, batch, sweep)
    sweep.partials = await runtime.storage.forget_partials(before=cutoff)
    if sweep.deleted or sweep.partials:
        log.info("storage.swept", deleted=len(sweep.deleted), partials=sweep.partials)
    return sweep


async def _delete_unnamed(runtime: Runtime, keys: Sequence[str], sweep: Sweep) -> None:
    named = await _named(runtime, keys)
    sweep.kept += len(named)
    for key in keys:
        if key not in named:
            await runtime.storage.delete(key)
            sweep.deleted.append(key)


async def _named(runtime: Runtime, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` a document, a logo or a background image names (any account:
    this is the system's own housekeeping, not a caller's read)."""
    async with runtime.sessions() as session:
        documents = await session.exec(
            select(Document.storage_key).where(col(Document.storage_key).in_(keys))
        )
        logos = await session.exec(select(Account.logo_key).where(col(Account.logo_key).in_(keys)))
        backgrounds = await session.exec(
            select(Account.background_image_key).where(col(Account.background_image_key).in_(keys))
        )
        return {
            key for key in [*documents.all(), *logos.all(), *backgrounds.all()] if key is not None
        }
