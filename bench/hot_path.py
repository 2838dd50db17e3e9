"""The hot path, side by side with a floor: ``python -m bench hot_path`` (issue 14).

Three requests, each sent to Portico and to :mod:`bench.floor` (the same rows fetched
with hand-written SQL, serialised with orjson, the same bearer-token check), on SQLite
and on PostgreSQL, over the account :mod:`bench.hot_path_seed` bulk-inserts (200
clients, 10,000 invoices of 5 lines, their payments, 1,000 quotes):

- ``invoices``: the staff list ``invoices(first: 100)`` with lines and client;
- ``dashboard``: a BILLING contact's landing query (figures per currency, open invoices,
  recent payments, open quotes);
- ``viewer``: ``{ viewer { __typename } }`` (the per-request overhead).

Through uvicorn: Portico as ``portico serve --workers N`` runs it (``python -m
server.cli serve``), the floor as ``python -m bench.floor_server --workers N`` (uvicorn,
and with more than one worker a listening socket per worker, as ``portico serve``:
server.reuse_port), each in a child process; a raw-socket HTTP/1.1 keep-alive load
generator (uvloop, one connection per concurrent client) measures p50/p99 latency and
req/s at concurrency 1, 8 and 32 with one worker, and req/s at 8 with two workers;
peak RSS is the server's ``VmHWM`` (each worker's, summed with the supervisor's when
there are two).

In-process (an ASGI client, no sockets): the SQL statements per request (an engine
``before_cursor_execute`` listener on Portico's engine; the floor counts its own), the
check that both answer the same JSON, and a cProfile of each Portico request grouped
by package (``hot_path_profile.json`` beside the results).

SQLite: ``var/bench/hot_path-s<seed version>-<migration head>.sqlite3``, kept between
runs. PostgreSQL: the database ``portico_bench`` on the server of
``PORTICO_TEST_POSTGRES_URL`` (dropped and seeded again each run; skipped when the
variable is unset). ``--quick`` shortens every measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop

from bench.common import (
    ROOT,
    free_port,
    loadavg,
    ms,
    percentile,
    short,
    wait_healthy,
    wait_listening,
)
from bench.floor import DASHBOARD, INVOICES, VIEWER, Floor
from bench.hot_path_seed import SEED_VERSION, Seeded, SeedSize, seed_account
from server import reuse_port

SCRATCH = ROOT / "var" / "bench"
REQUESTS = {"invoices": INVOICES, "dashboard": DASHBOARD, "viewer": VIEWER}
AS = {"invoices": "staff", "dashboard": "contact", "viewer": "staff"}
CONCURRENCY = (1, 8, 32)
THROUGHPUT_CONCURRENCY = 8
SECRET = "bench-hot-path-" + "0" * 32
"""The secret the bench's servers sign sessions with (a throwaway database)."""
PG_DATABASE = "portico_bench"
PROFILED = 20


@dataclass(frozen=True)
class Timing:
    warmup: float
    seconds: float


def _timing() -> Timing:
    return Timing(0.5, 1.5) if os.environ.get("BENCH_QUICK") else Timing(1.0, 4.0)


# --- the databases -------------------------------------------------------------------


def _migrate(url: str) -> None:
    """``portico migrate`` (the project's own command, from this checkout)."""
    subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PORTICO_DATABASE_URL": url},
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def _seed(url: str) -> tuple[Seeded, float]:
    from services.db import create_engine

    engine = create_engine(url)
    try:
        started = time.perf_counter()
        seeded = await seed_account(engine, SeedSize())
        return seeded, time.perf_counter() - started
    finally:
        await engine.dispose()


def sqlite_database() -> tuple[str, Seeded, dict[str, Any]]:
    """The cached SQLite account (seeded on first use for this seed and migration head)."""
    from server.migrate import head_revisions

    head = "-".join(sorted(head_revisions()))
    path = SCRATCH / f"hot_path-s{SEED_VERSION}-{head}.sqlite3"
    info = path.with_suffix(".json")
    url = f"sqlite+aiosqlite:///{path}"
    if path.exists() and info.exists():
        return url, Seeded(**json.loads(info.read_text())), {"cached": True}
    SCRATCH.mkdir(parents=True, exist_ok=True)
    for stale in (path, info, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    _migrate(url)
    migrate_s = time.perf_counter() - started
    seeded, seed_s = asyncio.run(_seed(url))
    info.write_text(json.dumps(seeded.as_dict()))
    return (
        url,
        seeded,
        {"cached": False, "migrate_s": round(migrate_s, 1), "seed_s": round(seed_s, 1)},
    )


def postgres_database() -> tuple[str, Seeded, dict[str, Any]] | None:
    """``portico_bench`` on the test server, created afresh and seeded."""
    base = os.environ.get("PORTICO_TEST_POSTGRES_URL")
    if not base:
        return None
    from sqlalchemy.engine import make_url

    admin_url = make_url(base)
    url = admin_url.set(database=PG_DATABASE).render_as_string(hide_password=False)

    async def recreate() -> None:
        import asyncpg  # type: ignore[import-untyped]

        dsn = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        finally:
            await connection.close()

    asyncio.run(recreate())
    started = time.perf_counter()
    _migrate(url)
    migrate_s = time.perf_counter() - started
    seeded, seed_s = asyncio.run(_seed(url))
    return (
        url,
        seeded,
        {"cached": False, "migrate_s": round(migrate_s, 1), "seed_s": round(seed_s, 1)},
    )


def tokens(seeded: Seeded) -> dict[str, str]:
    """Bearer tokens for the seeded sessions, signed now (their age is checked)."""
    from auth.tokens import TokenPurpose, TokenSigner

    signer = TokenSigner(SECRET)
    return {
        "staff": signer.sign(TokenPurpose.SESSION, uuid.UUID(seeded.staff_session_id).hex),
        "contact": signer.sign(TokenPurpose.SESSION, uuid.UUID(seeded.contact_session_id).hex),
    }


# --- in process: same answers, statements, profiles -----------------------------------


@dataclass
class Recorded:
    """Portico's SQL statements (their first 120 characters) and pool checkouts (on
    PostgreSQL a checkout pings only a connection idle for more than
    ``services.db.IDLE_PING_SECONDS``, a round trip ``before_cursor_execute`` does not
    see; tests/services/test_pg_round_trips.py counts them on the wire)."""

    statements: list[str] = field(default_factory=list)
    checkouts: int = 0


def _settings(url: str) -> Any:
    from services.config import Settings

    return Settings(
        environment="production",
        database_url=url,
        secret_key=SECRET,
        public_base_url="http://bench.test",
        scheduler_enabled=False,
        webhook_dispatcher_enabled=False,
        log_level="WARNING",
    )


@contextlib.asynccontextmanager
async def portico_in_process(url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Recorded]]:
    """Portico's app on an ASGI client, and what it sends its database."""
    from sqlalchemy import event

    from server.app import create_app
    from services.db import create_engine
    from services.runtime import Runtime

    settings = _settings(url)
    runtime = Runtime.build(settings, create_engine(url))
    counter = Recorded()

    def count(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counter.statements.append(" ".join(statement.split())[:120])

    def checkout(*_args: Any) -> None:
        counter.checkouts += 1

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    event.listen(runtime.engine.sync_engine.pool, "checkout", checkout)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as http:
            yield http, counter
    finally:
        await runtime.mailer.close()
        await runtime.engine.dispose()


async def ask(http: httpx.AsyncClient, name: str, token: str) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        content=orjson.dumps({"query": REQUESTS[name]}),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    body: dict[str, Any] = response.json()
    assert response.status_code == 200, (name, response.status_code, body)
    assert "errors" not in body, (name, body)
    return body


def _group(filename: str) -> str:
    if "/graphql/" in filename:
        return "graphql-core"
    if "/strawberry/" in filename:
        return "strawberry"
    if "/sqlalchemy/" in filename or "/sqlmodel/" in filename:
        return "sqlalchemy"
    if "/aiosqlite/" in filename or "/asyncpg/" in filename or "sqlite3" in filename:
        return "driver"
    if filename.startswith(str(ROOT)) and "/bench/" not in filename:
        return "portico"
    if "/starlette/" in filename or "/httpx/" in filename or "/anyio/" in filename:
        return "starlette/httpx"
    if filename.startswith("~") or "/lib/python3" in filename:
        return "stdlib+builtins"
    return "other"


def summarise(profiler: cProfile.Profile, requests: int) -> dict[str, Any]:
    """Own time by package, and the top 15 functions by cumulative and by own time."""
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    groups: dict[str, float] = {}
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        group = _group(filename)
        groups[group] = groups.get(group, 0.0) + tottime
        rows.append(
            {
                "function": f"{short(filename)}:{line}({name})",
                "group": group,
                "calls_per_request": round(calls / requests, 1),
                "own_ms_per_request": round(tottime / requests * 1000, 3),
                "cumulative_ms_per_request": round(cumtime / requests * 1000, 3),
            }
        )
    by_cumulative = sorted(rows, key=lambda row: -float(row["cumulative_ms_per_request"]))
    return {
        "requests": requests,
        "profiled_ms_per_request": round(total / requests * 1000, 2),
        "own_time_by_group_percent": {
            group: round(seconds / total * 100, 1)
            for group, seconds in sorted(groups.items(), key=lambda item: -item[1])
        },
        "top15_cumulative": [row for row in by_cumulative if not row["function"].startswith("~")][
            :15
        ],
        "top15_own": sorted(rows, key=lambda row: -float(row["own_ms_per_request"]))[:15],
    }


async def in_process(
    url: str, seeded: Seeded, *, timed: int = 10, profiled: int = PROFILED
) -> dict[str, Any]:
    """Per request: both answers equal, SQL statements of each, Portico's profile."""
    keys = tokens(seeded)
    floor = Floor(url, SECRET)
    await floor.db.open()
    results: dict[str, Any] = {}
    try:
        floor_transport = httpx.ASGITransport(app=floor)
        async with (
            portico_in_process(url) as (http, counter),
            httpx.AsyncClient(transport=floor_transport, base_url="http://floor.test") as lower,
        ):
            for name in REQUESTS:
                token = keys[AS[name]]
                for _ in range(3):
                    portico = await ask(http, name, token)
                    floored = await ask(lower, name, token)
                assert portico["data"] == floored["data"], _difference(name, portico, floored)
                before, checkouts = len(counter.statements), counter.checkouts
                await ask(http, name, token)
                portico_sql = counter.statements[before:]
                portico_checkouts = counter.checkouts - checkouts
                before = floor.db.statements
                await ask(lower, name, token)
                floor_statements = floor.db.statements - before
                started = time.perf_counter()
                for _ in range(timed):
                    await ask(http, name, token)
                portico_ms = (time.perf_counter() - started) / timed * 1000
                started = time.perf_counter()
                for _ in range(timed):
                    await ask(lower, name, token)
                floor_ms = (time.perf_counter() - started) / timed * 1000
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(profiled):
                    await ask(http, name, token)
                profiler.disable()
                results[name] = {
                    "same_json": True,
                    "sql_statements": {"portico": len(portico_sql), "floor": floor_statements},
                    "portico_pool_checkouts": portico_checkouts,
                    "portico_sql": portico_sql,
                    "in_process_ms_mean_of_10": {
                        "portico": round(portico_ms, 2),
                        "floor": round(floor_ms, 2),
                    },
                    "profile": summarise(profiler, profiled),
                }
    finally:
        await floor.db.close()
    return results


def _difference(name: str, portico: Any, floored: Any, path: str = "") -> str:
    """Where the two answers first differ."""
    if isinstance(portico, dict) and isinstance(floored, dict):
        for key in sorted(set(portico) | set(floored)):
            if portico.get(key) != floored.get(key):
                return _difference(name, portico.get(key), floored.get(key), f"{path}.{key}")
    if isinstance(portico, list) and isinstance(floored, list) and len(portico) == len(floored):
        for index, (one, other) in enumerate(zip(portico, floored, strict=True)):
            if one != other:
                return _difference(name, one, other, f"{path}[{index}]")
    return f"{name}: Portico and the floor differ at {path}: {portico!r:.300} != {floored!r:.300}"


# --- through uvicorn -----------------------------------------------------------------


def _request_bytes(name: str, token: str, port: int) -> bytes:
    body = orjson.dumps({"query": REQUESTS[name]})
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response off a keep-alive connection (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            key, value = line.split(b":", 1)
            headers[key.strip().lower()] = value.strip()
    if b"content-length" in headers:
        return status, await reader.readexactly(int(headers[b"content-length"]))
    body = b""
    while True:  # chunked
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body
        body += chunk[:-2]


async def load(port: int, request: bytes, concurrency: int, timing: Timing) -> dict[str, Any]:
    """``concurrency`` keep-alive connections sending ``request`` back to back: warm-up,
    then ``timing.seconds`` measured (the requests that finished inside the window)."""
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(concurrency)]
    begin = time.perf_counter() + timing.warmup
    end = begin + timing.seconds
    latencies: list[float] = []
    failures: list[str] = []

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (started := time.perf_counter()) < end:
            writer.write(request)
            status, body = await _response(reader)
            finished = time.perf_counter()
            if status != 200 or b'"errors"' in body[:200]:
                failures.append(f"{status} {body[:200]!r}")
            if begin <= finished <= end:
                latencies.append(finished - started)

    try:
        await asyncio.gather(*(client(reader, writer) for reader, writer in connections))
    finally:
        for _, writer in connections:
            writer.close()
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / timing.seconds, 1),
        "p50_ms": ms(statistics.median(latencies)) if latencies else None,
        "p99_ms": ms(percentile(latencies, 0.99)) if latencies else None,
        "failures": len(failures),
        "failure_sample": failures[:2],
    }


def _tree(pid: int) -> list[int]:
    found = [pid]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            found += _tree(int(child))
    return found


def peak_rss_mb(pid: int) -> dict[str, Any]:
    """``VmHWM`` (peak resident set) of the server and its worker processes."""
    peaks = []
    for each in _tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return {
        "processes": len(peaks),
        "max_mb": round(max(peaks), 1),
        "sum_mb": round(sum(peaks), 1),
    }


@contextlib.contextmanager
def serve(app: str, url: str, workers: int) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Portico (``portico serve``) or the floor (uvicorn's CLI) in a child process."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if app == "portico":
        env |= {
            "PORTICO_DATABASE_URL": url,
            "PORTICO_SECRET_KEY": SECRET,
            "PORTICO_ENVIRONMENT": "production",
            "PORTICO_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "PORTICO_SCHEDULER_ENABLED": "false",
            "PORTICO_WEBHOOK_DISPATCHER_ENABLED": "false",
            "PORTICO_LOG_LEVEL": "WARNING",
        }
        command = ["-m", "server.cli", "serve", "--port", str(port), "--workers", str(workers)]
    else:
        env |= {"BENCH_FLOOR_DATABASE": url, "BENCH_FLOOR_SECRET": SECRET}
        command = ["-m", "bench.floor_server", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
        [sys.executable, *command], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    try:
        yield process, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def _server_rows(
    process: subprocess.Popen[bytes],
    port: int,
    workers: int,
    keys: dict[str, str],
    concurrencies: tuple[int, ...],
    timing: Timing,
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        await wait_healthy(http, process)
    if workers > 1 and reuse_port.supported():
        await wait_listening(port, workers)
    rows: dict[str, Any] = {}
    for name in REQUESTS:
        request = _request_bytes(name, keys[AS[name]], port)
        await load(port, request, 2, Timing(0.0, 0.5))  # schemas, caches, pools warm
        rows[name] = {
            str(concurrency): await load(port, request, concurrency, timing)
            for concurrency in concurrencies
        }
    return rows


def through_uvicorn(url: str, seeded: Seeded, timing: Timing) -> dict[str, Any]:
    keys = tokens(seeded)
    result: dict[str, Any] = {}
    for app in ("portico", "floor"):
        for workers, concurrencies in ((1, CONCURRENCY), (2, (THROUGHPUT_CONCURRENCY,))):
            with serve(app, url, workers) as (process, port):
                rows = _run(
                    partial(_server_rows, process, port, workers, keys, concurrencies, timing)
                )
                result[f"{app}_workers{workers}"] = {
                    "requests": rows,
                    "peak_rss_mb": peak_rss_mb(process.pid),
                }
    return result


def _run(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())


# --- the whole bench -----------------------------------------------------------------


def _ratio(portico: float | None, floor: float | None) -> float | None:
    if not portico or not floor:
        return None
    return round(portico / floor, 2)


def ratios(served: dict[str, Any]) -> dict[str, Any]:
    """Portico / floor: latency p50 at each concurrency (how many times slower) and
    throughput (Portico's req/s as a share of the floor's)."""
    out: dict[str, Any] = {}
    for name in REQUESTS:
        one = served["portico_workers1"]["requests"][name]
        low = served["floor_workers1"]["requests"][name]
        two = served["portico_workers2"]["requests"][name][str(THROUGHPUT_CONCURRENCY)]
        low_two = served["floor_workers2"]["requests"][name][str(THROUGHPUT_CONCURRENCY)]
        out[name] = {
            "p50_latency_x": {c: _ratio(one[c]["p50_ms"], low[c]["p50_ms"]) for c in one},
            "throughput_share": {c: _ratio(one[c]["rps"], low[c]["rps"]) for c in one},
            "throughput_share_workers2_c8": _ratio(two["rps"], low_two["rps"]),
        }
    return out


def one_database(label: str, database: tuple[str, Seeded, dict[str, Any]]) -> dict[str, Any]:
    url, seeded, seeding = database
    print(f"  {label}: in process ...", flush=True)
    checked = _run(lambda: in_process(url, seeded))
    print(f"  {label}: through uvicorn ...", flush=True)
    served = through_uvicorn(url, seeded, _timing())
    return {
        "seeding": {**seeding, **seeded.as_dict()},
        "in_process": {
            name: {key: value for key, value in row.items() if key != "profile"}
            for name, row in checked.items()
        },
        "served": served,
        "ratios": ratios(served),
        "_profiles": {name: row["profile"] for name, row in checked.items()},
    }


def hot_path() -> dict[str, Any]:
    load_before = loadavg()
    started = time.perf_counter()
    databases: dict[str, Any] = {}
    print("  SQLite ...", flush=True)
    databases["sqlite"] = one_database("sqlite", sqlite_database())
    print("  PostgreSQL ...", flush=True)
    postgres = postgres_database()
    if postgres is not None:
        databases["postgresql"] = one_database("postgresql", postgres)
    profiles = {label: data.pop("_profiles") for label, data in databases.items()}
    timing = _timing()
    result: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": loadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "note": "2 cores shared with other agents' jobs: see the load averages",
        },
        "method": {
            "requests": REQUESTS,
            "as": AS,
            "load": "raw-socket HTTP/1.1 keep-alive clients on uvloop in the bench process, one "
            f"connection each; {timing.warmup} s warm-up then {timing.seconds} s measured per "
            "row; latency per request, p50/p99 over the measured ones",
            "servers": "Portico: python -m server.cli serve --workers N (production settings, "
            "scheduler and webhook dispatcher off); floor: python -m bench.floor_server "
            "--workers N (uvicorn); with two workers each listens on a socket of its own "
            "(SO_REUSEPORT: server.reuse_port); both log at info (uvicorn's access log on)",
            "sql_statements": "in process, one request: Portico's engine before_cursor_execute; "
            "the floor counts its own",
            "seed": f"bench.hot_path_seed, seed version {SEED_VERSION}, ANALYZE after seeding",
            "peak_rss": "VmHWM of the server process (max_mb: the largest process; sum_mb: "
            "supervisor and workers)",
        },
        "databases": databases,
        "took_s": round(time.perf_counter() - started),
    }
    result["_files"] = {"hot_path_profile.json": json.dumps(profiles, indent=2) + "\n"}
    result["_markdown"] = markdown(result, profiles)
    return result


def _cell(row: dict[str, Any]) -> str:
    return f"{row['p50_ms']} / {row['p99_ms']}, {row['rps']:.0f}"


def markdown(result: dict[str, Any], profiles: dict[str, Any]) -> str:
    machine = result["machine"]
    lines = [
        "## hot_path: Portico against a hand-written floor (issue 14)",
        "",
        f"`python -m bench hot_path --update`, {machine['date']}; {machine['cpus']} cores "
        f"({machine['platform']}), Python {platform.python_version()}; load average "
        f"{machine['loadavg_before']} at the start, {machine['loadavg_after']} at the end "
        "(the machine is shared with other agents: the figures are noisy).",
        "",
        "Account: 200 clients, 10,000 invoices x 5 lines, their payments, 1,000 quotes "
        "(bench/hot_path_seed.py). Cells: p50 / p99 latency in ms, req/s, through uvicorn "
        "with one worker; `w2`: req/s with two workers at 8 concurrent; the `ratio` rows: "
        "Portico's p50 over the floor's (and Portico's req/s as a share of the floor's); "
        "SQL: statements per request. Profiles: bench/results/hot_path_profile.json.",
        "",
    ]
    for label, data in result["databases"].items():
        seeding = data["seeding"]
        seeded = f"seeded in {seeding['seed_s']} s" if "seed_s" in seeding else "cached seed"
        lines += [
            f"### {label} ({seeded})",
            "",
            "| request | app | SQL | c=1 | c=8 | c=32 | w2 c=8 req/s | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name in REQUESTS:
            statements = data["in_process"][name]["sql_statements"]
            for app in ("portico", "floor"):
                served = data["served"][f"{app}_workers1"]
                rows = served["requests"][name]
                two = data["served"][f"{app}_workers2"]["requests"][name]["8"]
                cells = " | ".join(_cell(rows[c]) for c in ("1", "8", "32"))
                lines.append(
                    f"| {name} | {app} | {statements[app]} | {cells} | {two['rps']:.0f} "
                    f"| {served['peak_rss_mb']['max_mb']} |"
                )
            ratio = data["ratios"][name]
            x, share = ratio["p50_latency_x"], ratio["throughput_share"]
            lines.append(
                f"| {name} | **ratio** | | **{x['1']}x** ({share['1']}) "
                f"| **{x['8']}x** ({share['8']}) | **{x['32']}x** ({share['32']}) "
                f"| ({ratio['throughput_share_workers2_c8']}) | |"
            )
        lines += ["", "Where Portico's time goes in process (cProfile, own time by package):", ""]
        for name, profile in profiles[label].items():
            groups = ", ".join(
                f"{group} {share} %"
                for group, share in profile["own_time_by_group_percent"].items()
            )
            lines.append(f"- {name} ({profile['profiled_ms_per_request']} ms profiled): {groups}")
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(json.dumps(hot_path(), indent=2, default=str))
