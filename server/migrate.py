"""Alembic, configured in code: ``portico migrate`` and the tests call these."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from services.db import WRITE_OPTIONS

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
        await connection.execution_options(**WRITE_OPTIONS)  # SQLite: BEGIN IMMEDIATE
        async with connection.begin():
            await connection.run_sync(_upgrade)


def upgrade_in_thread(database_url: str) -> asyncio.Future[None]:
    """Run :func:`upgrade` off the event loop (Alembic's env runs its own loop)."""
    return asyncio.get_running_loop().run_in_executor(None, upgrade, database_url)
