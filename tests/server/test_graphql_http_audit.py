"""The GraphQL-over-HTTP conformance audit of the `graphql-http` npm package (the
reference implementation of the spec) against a real ``portico serve``: every audit,
MUST, SHOULD and MAY, is ``ok``.

The package is installed once per checkout into ``var/node/`` (ignored by git), pinned
(tests/node_packages.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.node_packages import npm_available, npm_prefix
from tests.server.serving import portico_serve

GRAPHQL_HTTP = "graphql-http@1.23.1"
AUDIT = Path(__file__).parent / "audit" / "audit.mjs"

pytestmark = pytest.mark.skipif(
    not npm_available(),
    reason="needs Node.js and npm to run the graphql-http audit",
)


@pytest.fixture(scope="session")
def graphql_http() -> Path:
    """A prefix with the pinned graphql-http installed (once; then npm is not asked)."""
    return npm_prefix(GRAPHQL_HTTP)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    where = tmp_path_factory.mktemp("audit")
    database = where / "portico.sqlite3"
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
    with portico_serve(cwd=where, env=env) as (base, _pid):
        yield base


def run_audit(prefix: Path, url: str) -> list[dict[str, str | None]]:
    finished = subprocess.run(  # noqa: S603
        [shutil.which("node") or "node", str(AUDIT), url],
        env={**os.environ, "GRAPHQL_HTTP_PREFIX": str(prefix)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    results: list[dict[str, str | None]] = json.loads(finished.stdout)
    return results


def test_every_graphql_over_http_audit_passes(graphql_http: Path, served: str) -> None:
    results = run_audit(graphql_http, f"{served}/graphql")
    assert len(results) > 50, results  # the whole suite ran
    failing = [
        f"{r['id']} {r['status']} {r['name']}: {r['reason']}"
        for r in results
        if r["status"] != "ok"
    ]
    print(
        f"graphql-http: {len(results) - len(failing)} of {len(results)} audits ok", file=sys.stderr
    )
    assert not failing, "\n".join(failing)
