"""``portico serve`` as a real process on a free port, for tests that need a real server."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from tests.smtp_server import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def portico_serve(
    *, cwd: Path, env: dict[str, str], log: IO[bytes] | None = None, workers: int = 1
) -> Iterator[tuple[str, int]]:
    """Run ``portico serve`` (with ``workers``) in ``cwd`` with ``env`` until ``/healthz``
    answers 200; yields (base URL, pid) and stops the server afterwards. Its output
    (uvicorn's log and the app's) goes to ``log`` when given, else nowhere."""
    port = free_port()
    command = ["serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "server.cli", *command],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "portico serve exited"
            assert time.monotonic() < deadline, "portico serve did not start"
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)
