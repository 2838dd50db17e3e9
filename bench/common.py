"""What the benchmarks share: ports, percentiles, load averages, child servers, profiles."""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def short(filename: str) -> str:
    """A source path without the checkout or site-packages prefix."""
    return filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]


def profile_top(profiler: cProfile.Profile, limit: int = 30) -> list[dict[str, Any]]:
    """The functions that took the most own time."""
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{short(filename)}:{line}({name})",
                "calls": calls,
                "tottime_s": round(tottime, 4),
                "cumtime_s": round(cumtime, 4),
            }
        )
    return sorted(rows, key=lambda row: -float(row["tottime_s"]))[:limit]


def listeners(port: int) -> int:
    """Sockets listening on 127.0.0.1/0.0.0.0 ``port`` (``/proc/net/tcp``; with
    ``SO_REUSEPORT`` each worker has its own)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
            count += 1
    return count


async def wait_listening(port: int, sockets: int) -> None:
    """Until ``sockets`` listen on ``port``: a supervisor's ``/healthz`` answers once its
    first worker is up, and a worker still starting would take no connection (and
    build its schemas during the measurement)."""
    deadline = time.monotonic() + 120
    while listeners(port) < sockets:
        assert time.monotonic() < deadline, f"{listeners(port)} of {sockets} listening"
        await asyncio.sleep(0.2)


async def wait_healthy(
    http: httpx.AsyncClient, process: subprocess.Popen[bytes], path: str = "/healthz"
) -> None:
    """Until the child server answers 200 on ``path`` (it must not exit meanwhile)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            if (await http.get(path)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, "the bench server exited"
        assert time.monotonic() < deadline, "the bench server did not start"
        await asyncio.sleep(0.2)
