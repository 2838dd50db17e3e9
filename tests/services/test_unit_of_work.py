"""The unit of work: one transaction per change; what it sets in motion runs only after
the commit, never after a rollback, and a failing follow-up never undoes the change."""

import ast
from pathlib import Path

import pytest
from sqlmodel import select
from structlog.testing import capture_logs

from models.accounts import Account
from models.mail import MailMessage
from services.accounts import create_account
from services.unit_of_work import after_commit, unit_of_work
from tests.source_trees import parse_file

ROOT = Path(__file__).resolve().parents[2]


async def account_slugs(runtime):
    async with runtime.sessions() as session:
        return sorted((await session.exec(select(Account.slug))).all())


async def test_follow_ups_run_after_the_commit_once_per_key(runtime):
    seen = []

    async def follow_up(rt):
        # the change is durable when the follow-up runs: another session sees it
        seen.append((rt is runtime, await account_slugs(rt)))

    async with unit_of_work(runtime) as work:
        await create_account(work.session, name="One", slug="one")
        after_commit(work.session, "probe", follow_up)
        after_commit(work.session, "probe", follow_up)  # same key: kept once
        assert seen == []
    assert seen == [(True, ["one"])]


async def test_nothing_follows_a_rollback_and_nothing_is_written(runtime):
    ran = []

    async def failing_change():
        async with unit_of_work(runtime) as work:
            await create_account(work.session, name="Two", slug="two")
            after_commit(work.session, "probe", lambda rt: ran.append(rt))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_change()
    assert ran == []
    assert await account_slugs(runtime) == []
    # and the next change on a fresh unit of work runs only its own follow-ups
    async with unit_of_work(runtime) as work:
        await create_account(work.session, name="Three", slug="three")
    assert ran == []


async def test_a_failing_follow_up_is_logged_and_the_change_stays(runtime):
    ran = []

    def failing(_rt):
        raise ValueError("smtp down")

    with capture_logs() as logs:
        async with unit_of_work(runtime) as work:
            await create_account(work.session, name="Four", slug="four")
            after_commit(work.session, "first", failing)
            after_commit(work.session, "second", lambda rt: ran.append("second"))
    assert await account_slugs(runtime) == ["four"]
    assert ran == ["second"]  # the others still run
    assert [entry["event"] for entry in logs if entry["log_level"] == "error"] == [
        "follow_up_failed"
    ]


async def test_queued_mail_is_delivered_after_the_commit(runtime):
    async with unit_of_work(runtime) as work:
        account = await create_account(work.session, name="Five", slug="five")
        await runtime.mailer.queue(
            work.session,
            account=account,
            to="someone@five.test",
            template="magic_link",
            context={"contact_name": "Someone", "link": "http://x", "expires_minutes": 15},
        )
    await runtime.mailer.drain()
    async with runtime.sessions() as session:
        (message,) = (await session.exec(select(MailMessage))).all()
    assert message.status.value == "SENT"  # the console transport took it


def test_only_the_unit_of_work_commits():
    """No module of the application calls ``commit()`` but the unit of work (the
    session class's own turn-taking wrapper in services/db.py excepted)."""
    callers = []
    for package in ("auth", "models", "resolvers", "schema", "server", "services"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path.name == "unit_of_work.py":
                continue
            tree = parse_file(path)
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name == "SerialAsyncSession":
                    node.body = []  # its commit() takes the session's turn, then commits
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "commit"
                ):
                    callers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert callers == []
