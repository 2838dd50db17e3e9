"""``portico serve --workers 2``: both workers take connections. With uvicorn's one
shared socket, keep-alive clients connecting together all landed on one worker (the
second core idled: issue 14's bench); each worker now listens on a socket of its own
and the kernel spreads the connections (server/reuse_port.py)."""

from __future__ import annotations

import pickle
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server import reuse_port
from tests.server.serving import portico_serve
from tests.server.test_cli_config import portico, portico_env

pytestmark = pytest.mark.skipif(
    not reuse_port.supported(), reason="SO_REUSEPORT balances on Linux only"
)

CONNECTIONS = 24


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    home = tmp_path_factory.mktemp("workers")
    variables = {
        "PORTICO_DATABASE_URL": f"sqlite+aiosqlite:///{home / 'portico.sqlite3'}",
        "PORTICO_SCHEDULER_ENABLED": "false",
        "PORTICO_WEBHOOK_DISPATCHER_ENABLED": "false",
        "PORTICO_LOG_LEVEL": "WARNING",
    }
    result = portico("migrate", cwd=home, **variables)
    assert result.returncode == 0, result.stderr
    with portico_serve(cwd=home, env=portico_env(**variables), workers=2) as served:
        yield served


def _owners(port: int, state: str = "established") -> dict[int, int]:
    """Sockets of ``port`` in ``state`` by the pid of the process holding each."""
    listed = subprocess.run(  # noqa: S603
        ["ss", "-Htnp", "state", state, f"( sport = :{port} )"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    owners: dict[int, int] = {}
    for line in listed.splitlines():
        if "pid=" in line:
            pid = int(line.split("pid=")[1].split(",")[0])
            owners[pid] = owners.get(pid, 0) + 1
    return owners


def _worker_pids(supervisor: int) -> set[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return {int(pid) for pid in children}


def test_keep_alive_clients_are_spread_over_the_workers(two_workers: tuple[str, int]) -> None:
    base, supervisor = two_workers
    port = int(base.rsplit(":", 1)[1])
    deadline = time.monotonic() + 60  # /healthz answers once the first worker is up
    while len(_owners(port, "listening")) < 2:
        assert time.monotonic() < deadline, _owners(port, "listening")
        time.sleep(0.1)
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNECTIONS)]
    try:
        request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        for client in clients:  # each connection answered, and kept open
            client.sendall(request)
        for client in clients:
            assert client.recv(4096).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 5
        while sum((owners := _owners(port)).values()) < CONNECTIONS and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _worker_pids(supervisor)
        assert len(workers) >= 2  # the supervisor's worker processes (and no more)
        assert set(owners) <= workers, (owners, workers)  # none held by the supervisor
        assert sum(owners.values()) == CONNECTIONS
        assert len(owners) == 2, owners  # both workers took connections
    finally:
        for client in clients:
            client.close()


def test_a_supervisors_socket_arrives_in_a_worker_as_its_own_listener() -> None:
    supervisor = reuse_port.reuse_port_socket("127.0.0.1", 0)
    try:
        address = supervisor.getsockname()
        workers = [pickle.loads(pickle.dumps(supervisor)) for _ in range(2)]  # noqa: S301
        try:
            for worker in workers:
                assert worker.getsockname() == address
                assert worker.fileno() != supervisor.fileno()
                worker.listen()
            # the supervisor's socket never listens: a client's connection reaches a worker
            with socket.create_connection(address, timeout=5):
                ready = [w for w in workers if _accepts(w)]
                assert len(ready) == 1
        finally:
            for worker in workers:
                worker.close()
    finally:
        supervisor.close()


def _accepts(listener: socket.socket) -> bool:
    listener.settimeout(0.5)
    try:
        accepted, _ = listener.accept()
    except TimeoutError:
        return False
    accepted.close()
    return True
