"""``/healthz`` and ``portico serve`` on a database that was never migrated (issue 10):
health says so (503, the command to run) instead of "ok", and serve refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from server.app import create_app
from server.migrate import upgrade_engine
from services.config import Settings
from services.db import create_engine
from services.runtime import Runtime
from tests.conftest import SECRET

ROOT = Path(__file__).resolve().parents[2]
NOT_MIGRATED = {"status": "error", "database": "not migrated", "hint": "run `portico migrate`"}


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """The app on a new, empty SQLite file."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
    settings = Settings(
        environment="test", database_url=url, secret_key=SECRET, scheduler_enabled=False
    )
    runtime = Runtime.build(settings, create_engine(url))
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
            yield client, runtime
    finally:
        await runtime.mailer.close()
        await runtime.engine.dispose()


async def test_healthz_says_an_unmigrated_database_is_not_migrated(fresh):
    client, _ = fresh
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == NOT_MIGRATED


async def test_healthz_is_ok_once_migrated_and_does_not_read_the_revision_again(fresh):
    client, runtime = fresh
    assert (await client.get("/healthz")).status_code == 503
    # when the database is migrated, health turns ok
    await upgrade_engine(runtime.engine)
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    # then "migrated" is remembered: without Alembic's table health is still only SELECT 1
    async with runtime.engine.begin() as connection:
        await connection.execute(text("DROP TABLE alembic_version"))
    assert (await client.get("/healthz")).status_code == 200


async def test_healthz_says_an_older_revision_is_not_migrated(fresh):
    client, runtime = fresh
    await upgrade_engine(runtime.engine, "0001")
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == NOT_MIGRATED


async def test_healthz_on_an_unmigrated_postgresql_schema_given_without_a_driver():
    url = os.environ.get("PORTICO_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PORTICO_TEST_POSTGRES_URL is not set: PostgreSQL runs are skipped")
    # given a plain postgresql:// URL, as a new user writes it
    plain = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    settings = Settings(environment="test", database_url=plain, secret_key=SECRET)
    assert settings.database_url == url
    schema = f"portico_unmigrated_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(
        settings.database_url, connect_args={"server_settings": {"search_path": schema}}
    )
    runtime = Runtime.build(settings, engine)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
            response = await client.get("/healthz")
            assert response.status_code == 503
            assert response.json() == NOT_MIGRATED
            await upgrade_engine(engine)
            response = await client.get("/healthz")
            assert response.status_code == 200
    finally:
        await runtime.mailer.close()
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def test_serve_refuses_an_unmigrated_database_with_one_line(tmp_path: Path):
    database = tmp_path / "never-migrated.sqlite3"
    env = {
        **os.environ,
        "PORTICO_ENVIRONMENT": "test",
        "PORTICO_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "PORTICO_SECRET_KEY": SECRET,
    }
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: the database sqlite+aiosqlite:///{database} is not migrated:"
        " run `portico migrate` first"
    ], result.stderr
