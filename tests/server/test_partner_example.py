"""The README's partner client (examples/partner/subscribe.mjs, the reference `graphql-ws`
client under Node.js) against a real ``portico serve``: it receives each change, and after
being stopped it resumes from its saved cursor with nothing missed and nothing twice."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, SECRET
from tests.server.serving import ROOT, portico_serve

EXAMPLE = ROOT / "examples" / "partner"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None, reason="needs Node.js and npm"
)

SIGN_IN = 'mutation { signIn(email: "owner@partner.test", password: "%s") { token } }'
TOKEN = """
mutation { createApiToken(name: "ledger", scopes: ["invoices:read", "events:subscribe"]) {
  token
} }
"""
CREATE_CLIENT = 'mutation { createClient(input: {name: "Initech"}) { id } }'
CREATE_INVOICE = """
mutation($client: ID!) {
  createInvoice(
    input: {clientId: $client, lines: [{description: "Work", quantity: "2", unitPrice: "50"}]}
  ) { id }
}
"""
SEND = "mutation($id: ID!) { sendInvoice(id: $id) { id number } }"


def test_the_readme_points_at_the_example():
    readme = (ROOT / "README.md").read_text()
    assert "examples/partner/subscribe.mjs" in readme


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example with its npm dependencies installed."""
    where = tmp_path_factory.mktemp("partner")
    for name in ("package.json", "subscribe.mjs"):
        shutil.copy(EXAMPLE / name, where / name)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],  # noqa: S607
        cwd=where,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return where


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    database = tmp_path / "portico.sqlite3"
    shutil.copy(sqlite_template, database)
    env = {
        **os.environ,
        "PORTICO_ENVIRONMENT": "test",
        "PORTICO_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "PORTICO_SECRET_KEY": SECRET,
        "PORTICO_SCHEDULER_ENABLED": "false",
        "PORTICO_LOG_LEVEL": "WARNING",
    }
    env.pop("PORTICO_REDIS_URL", None)
    created = subprocess.run(  # noqa: S603
        [
            *(sys.executable, "-m", "server.cli", "create-admin", "--account-name", "Partner"),
            *("--slug", "partner", "--email", "owner@partner.test", "--name", "Owner"),
            *("--password", PASSWORD),
        ],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr
    with portico_serve(cwd=tmp_path, env=env) as (base, _pid):
        yield str(base)


def graphql(base: str, query: str, variables: dict[str, Any] | None = None, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=10,
    ).json()
    assert "errors" not in body, body
    return body["data"]


class Partner:
    """The example running under Node.js; its stdout lines are the events it handled."""

    def __init__(self, example: Path, base: str, token: str, cursor_file: Path) -> None:
        self.process = subprocess.Popen(
            ["node", "subscribe.mjs"],  # noqa: S607
            cwd=example,
            env={
                **os.environ,
                "PORTICO_URL": base.replace("http://", "ws://") + "/graphql",
                "PORTICO_TOKEN": token,
                "CURSOR_FILE": str(cursor_file),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def event(self) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=15)
        except queue.Empty:
            self.stop()
            assert self.process.stderr is not None
            pytest.fail(f"no event; stderr: {self.process.stderr.read()}")
        event: dict[str, Any] = json.loads(line)
        return event

    def nothing_more(self) -> None:
        with pytest.raises(queue.Empty):
            self.lines.get(timeout=1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def test_the_example_client_follows_and_resumes(example: Path, served: str, tmp_path: Path):
    admin = graphql(served, SIGN_IN % PASSWORD)["signIn"]["token"]
    token = graphql(served, TOKEN, token=admin)["createApiToken"]["token"]
    client = graphql(served, CREATE_CLIENT, token=admin)["createClient"]["id"]
    first = graphql(served, CREATE_INVOICE, {"client": client}, token=admin)["createInvoice"]
    second = graphql(served, CREATE_INVOICE, {"client": client}, token=admin)["createInvoice"]
    graphql(served, SEND, {"id": first["id"]}, token=admin)
    cursor_file = tmp_path / "cursor.txt"
    cursor_file.write_text("0")  # from the start of the stream
    partner = Partner(example, served, token, cursor_file)
    try:
        sent = partner.event()  # drafts are not a partner's: the send is its first event
        partner.nothing_more()
    finally:
        partner.stop()
    assert (sent["kind"], sent["invoice"]["id"]) == ("SENT", first["id"])
    assert sent["invoice"]["total"] == "100.00"
    assert cursor_file.read_text() == sent["cursor"]
    # while it is stopped, the second invoice is sent
    graphql(served, SEND, {"id": second["id"]}, token=admin)
    partner = Partner(example, served, token, cursor_file)
    try:
        resumed = partner.event()
        partner.nothing_more()
    finally:
        partner.stop()
    assert (resumed["kind"], resumed["invoice"]["id"]) == ("SENT", second["id"])
    assert int(resumed["cursor"]) > int(sent["cursor"])
