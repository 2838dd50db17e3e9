"""Alembic, configured in code: ``portico migrate`` and the tests call these."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.db import WRITE_OPTIONS, set_sqlite_foreign_keys

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` up to ``revision`` (blocking)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate through an existing engine (used where the caller already holds one)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def _upgrade(connection: object) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.connect() as connection:
        await connection.run_sync(set_sqlite_foreign_keys, False)  # see its docstring
        try:
            await connection.execution_options(**WRITE_OPTIONS)  # SQLite: BEGIN IMMEDIATE
            async with connection.begin():
                await connection.run_sync(_upgrade)
        finally:
            await connection.run_sync(set_sqlite_foreign_keys, True)


def upgrade_in_thread(database_url: str) -> asyncio.Future[None]:
    """Run :func:`upgrade` off the event loop (Alembic's env runs its own loop)."""
    return asyncio.get_running_loop().run_in_executor(None, upgrade, database_url)


NOT_MIGRATED_HINT = "run `portico migrate`"


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The revisions the code expects (read once from the migration scripts)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


async def current_revisions(connection: AsyncConnection) -> frozenset[str]:
    """The database's revisions, from Alembic's ``alembic_version`` table (none when the
    table does not exist: the database was never migrated)."""
    try:
        rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:  # no such table; the caller's connection is rolled back after this
        return frozenset()
    return frozenset(str(row[0]) for row in rows)


class MigrationCheck:
    """Whether the database is at the head revision; once it was seen to be, it is not
    read again (a process does not un-migrate its database)."""

    def __init__(self) -> None:
        self.migrated = False

    async def check(self, connection: AsyncConnection) -> bool:
        if not self.migrated:
            self.migrated = await current_revisions(connection) == head_revisions()
        return self.migrated


async def is_migrated(engine: AsyncEngine) -> bool:
    """Whether the database behind ``engine`` is at the head revision (raises when it
    cannot be reached)."""
    async with engine.connect() as connection:
        return await MigrationCheck().check(connection)
