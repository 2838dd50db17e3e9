"""A client that hangs up before its request body is read is one quiet log line, not a
traceback (issue 14: under load the server logged ``Exception in ASGI application`` with
a full ``ClientDisconnect`` traceback 120-140 times per run)."""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from pathlib import Path

import httpx

from tests.conftest import SECRET
from tests.server.serving import portico_serve


def _hang_up_mid_body(base: str, path: str) -> None:
    """Announce a 1,000-byte JSON body, send a piece of it, then close the socket."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n".encode()
            + b'{"query": "{ viewer { __typename'
        )
        time.sleep(0.2)  # the app is now waiting for the rest of the body


def test_a_client_hanging_up_mid_body_is_a_quiet_log_line(tmp_path: Path, sqlite_template: Path):
    database = tmp_path / "portico.sqlite3"
    shutil.copy(sqlite_template, database)
    env = {
        **os.environ,
        "PORTICO_ENVIRONMENT": "test",
        "PORTICO_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "PORTICO_SECRET_KEY": SECRET,
        "PORTICO_SCHEDULER_ENABLED": "false",
        "PORTICO_LOG_LEVEL": "INFO",
    }
    env.pop("PORTICO_REDIS_URL", None)
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log, portico_serve(cwd=tmp_path, env=env, log=log) as (base, _):
        paths = ["/graphql", f"/webhooks/stripe/{uuid.uuid4()}"]
        for path in paths:
            for _ in range(3):
                _hang_up_mid_body(base, path)
        # the server is still well, and has handled every hang-up before it answers this
        answer = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}, timeout=5)
        assert answer.json()["data"] == {"__typename": "Query"}
        time.sleep(0.5)
    output = log_path.read_text()
    assert "Exception in ASGI application" not in output, output
    assert "Traceback" not in output, output
    assert "ClientDisconnect" not in output, output
    assert output.count("client_disconnected") == 6, output
