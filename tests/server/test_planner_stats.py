"""Planner statistics are kept current (issue 14): SQLite is analysed after migrations and
optimised at start-up; PostgreSQL's tables are analysed after migrations."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from server.app import create_app
from server.migrate import upgrade_engine
from services.accounts import create_account
from services.config import Settings
from services.db import create_engine, session_factory
from services.runtime import Runtime
from services.unit_of_work import begin_write
from tests.conftest import POSTGRES_URL, SECRET


async def _stat_tables(runtime: Runtime) -> set[str]:
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1"))
        return {str(row[0]) for row in rows}


async def test_sqlite_start_up_gathers_the_statistics_a_database_lacks(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'stats.sqlite3'}"
    settings = Settings(
        environment="test", database_url=url, secret_key=SECRET, scheduler_enabled=False
    )
    runtime = Runtime.build(settings, create_engine(url))
    try:
        await upgrade_engine(runtime.engine)
        async with runtime.sessions() as session:
            await begin_write(session)
            await create_account(session, name="Acme", slug="acme")
            await session.commit()
        async with runtime.engine.begin() as connection:  # as a database never analysed
            await connection.execute(text("DROP TABLE sqlite_stat1"))

        app = create_app(runtime=runtime)
        async with app.router.lifespan_context(app):
            assert "account" in await _stat_tables(runtime)
    finally:
        await runtime.mailer.close()
        await runtime.engine.dispose()


async def test_sqlite_migrations_analyse_the_database(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'stats.sqlite3'}"
    engine = create_engine(url)
    try:
        await upgrade_engine(engine)
        async with session_factory(engine)() as session:
            await begin_write(session)
            await create_account(session, name="Acme", slug="acme")
            await create_account(session, name="Beta", slug="beta")
            await session.commit()
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE sqlite_stat1"))
        await upgrade_engine(engine)  # at head already: the statistics are still refreshed
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT tbl, stat FROM sqlite_stat1"))
            stats = {str(row[0]): str(row[1]) for row in rows}
        assert stats["account"].split()[0] == "2"  # two rows, counted
    finally:
        await engine.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="PORTICO_TEST_POSTGRES_URL is not set")
async def test_postgres_migrations_analyse_the_apps_tables():
    assert POSTGRES_URL is not None
    schema = f"portico_stats_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        await upgrade_engine(engine)
        async with engine.connect() as connection:
            # reltuples is -1 until a table was first analysed (or vacuumed)
            never_analysed = (
                await connection.execute(
                    text(
                        "SELECT c.relname FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = :schema AND c.relkind = 'r' AND c.reltuples < 0 "
                        "AND c.relname <> 'alembic_version'"
                    ),
                    {"schema": schema},
                )
            ).all()
        assert never_analysed == []
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
