"""Migrations keep the data they move: upgrading a database with clients, projects and
tasks keeps every row (on SQLite, batch mode rebuilds tables, which must not cascade
deletes), and 0012 turns each task's ``shared_with_client`` into its visibility."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.migrate import upgrade_engine
from services.db import create_engine
from tests.conftest import POSTGRES_URL

ACCOUNT = """
INSERT INTO account (id, name, slug, currency, timezone, primary_color, portal_enabled,
  registration_enabled, password_login_enabled, enabled_modules, lock_sent_invoices,
  convert_quote_on_approval, quote_requires_terms, quote_requires_signature,
  quote_requires_po_number, allow_partial_payments, allow_overpayment,
  minimum_payment_amount, invoice_number_prefix, next_invoice_number, quote_number_prefix,
  next_quote_number, credit_number_prefix, next_credit_number, created_at, updated_at)
VALUES (:id, 'A', 'a', 'USD', 'UTC', '#000000', true, false, true, '[]', true, true, false,
  false, false, true, false, 0, 'I', 1, 'Q', 1, 'C', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
"""
CLIENT = """
INSERT INTO client (id, account_id, name, currency, portal_enabled, created_at, updated_at)
VALUES (:id, :account, 'C', 'USD', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
"""
PROJECT = """
INSERT INTO project (id, account_id, client_id, name, status, created_at, updated_at)
VALUES (:id, :account, :client, 'P', 'ACTIVE', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
"""
TASK = """
INSERT INTO task (id, account_id, project_id, client_id, title, status, shared_with_client,
  position, created_at, updated_at)
VALUES (:id, :account, :project, :client, :title, 'TODO', :shared, 0, CURRENT_TIMESTAMP,
  CURRENT_TIMESTAMP)
"""


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_engine(request, tmp_path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
        yield engine
        await engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("PORTICO_TEST_POSTGRES_URL is not set: PostgreSQL runs are skipped")
    schema = f"portico_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def _typed(sql: str, *names: str):
    return text(sql).bindparams(*(bindparam(name, type_=Uuid) for name in names))


async def test_upgrading_keeps_rows_and_turns_sharing_into_visibility(empty_engine):
    # given a database at 0005 (before the Stripe and collaboration migrations) with data
    await upgrade_engine(empty_engine, "0005")
    ids = {name: uuid.uuid4() for name in ("account", "client", "project")}
    async with empty_engine.begin() as connection:
        await connection.execute(_typed(ACCOUNT, "id"), {"id": ids["account"]})
        await connection.execute(
            _typed(CLIENT, "id", "account"), {"id": ids["client"], "account": ids["account"]}
        )
        await connection.execute(
            _typed(PROJECT, "id", "account", "client"),
            {"id": ids["project"], "account": ids["account"], "client": ids["client"]},
        )
        for title, shared in (("shared", True), ("internal", False)):
            await connection.execute(
                _typed(TASK, "id", "account", "project", "client"),
                {**ids, "id": uuid.uuid4(), "title": title, "shared": shared},
            )
    # when it is upgraded to the head
    await upgrade_engine(empty_engine)
    # then every row is still there, and the tasks' visibility says what sharing said
    async with empty_engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM client"))).scalar() == 1
        assert (await connection.execute(text("SELECT count(*) FROM project"))).scalar() == 1
        rows = (await connection.execute(text("SELECT title, visibility FROM task"))).all()
        assert sorted(tuple(row) for row in rows) == [
            ("internal", "INTERNAL"),
            ("shared", "CLIENT_VISIBLE"),
        ]
        sharing = await connection.execute(text("SELECT task_sharing_enabled FROM account"))
        assert sharing.scalar() in (True, 1)
