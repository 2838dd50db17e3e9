"""``portico serve --workers N``: each worker listens on a socket of its own, and the
kernel spreads the connections over them (``SO_REUSEPORT``, Linux).

uvicorn's supervisor binds one socket and hands it to every worker, so the workers
share one accept queue: whichever wakes first takes every connection waiting. Clients
that keep their connections open (browsers, proxies with upstream keep-alive, the
bench's load generator) then all sit on one worker while the others idle: with two
workers and eight keep-alive clients, one worker served everything and the second core
did nothing (bench/results.md, issue 14).

:func:`reuse_port_socket` is the supervisor's socket: bound with ``SO_REUSEPORT`` (which
keeps the port for the workers) and never listening, so it takes no connection itself.
Handed to a worker (uvicorn pickles it into each spawned process), it arrives as a new
socket bound to the same address with ``SO_REUSEPORT``; the worker listens on that one.
Where the option is missing or does not balance (not Linux), :func:`supported` is false
and ``portico serve`` keeps uvicorn's shared socket.
"""

from __future__ import annotations

import socket
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn


def supported() -> bool:
    """Whether the kernel balances connections over ``SO_REUSEPORT`` listeners (Linux
    3.9 and later; BSDs and macOS accept the option without balancing)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


class ReusePortSocket(socket.socket):
    """A TCP socket bound with ``SO_REUSEPORT`` that pickles as a new one bound to the
    same address (see the module)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_bound, (self.family, self.getsockname()))


def _bound(family: socket.AddressFamily, address: Any) -> ReusePortSocket:
    sock = ReusePortSocket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def reuse_port_socket(host: str, port: int) -> ReusePortSocket:
    """The supervisor's socket for ``host:port`` (IPv6 when ``host`` has a colon)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return _bound(family, (host, port))


def run_workers(config: uvicorn.Config) -> None:
    """uvicorn's supervisor for ``config.workers`` workers, each listening on a socket of
    its own on ``config.host:config.port`` (raises ``OSError`` when the port is taken)."""
    from uvicorn.supervisors import Multiprocess

    sock = reuse_port_socket(config.host, config.port)
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
