"""The compiled execution path against graphql-core's, in process:
``python -m bench.compiled_execution`` (issue 14).

Two Portico apps on the hot_path bench's SQLite account (:func:`bench.hot_path.sqlite_database`,
seeded on first use), one with ``PORTICO_COMPILED_EXECUTION=false`` and one with the
default, on ASGI clients. For each of the three hot_path requests: both answers equal,
SQL statements per request, then ``ROUNDS`` interleaved batches of ``N`` sequential
requests on each app (wall clock and process CPU time per request), and a cProfile of
``PROFILED`` requests (own time by package, Python calls per request: the one figure a
busy machine does not change). Prints one JSON line per request and app; ``OUT=path``
writes everything, with the top functions, as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import json
import os
import pstats
import statistics
import time
from typing import Any

from bench.hot_path import AS, REQUESTS, ask, portico_in_process, sqlite_database, summarise, tokens

N = int(os.environ.get("N", "20"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
PROFILED = int(os.environ.get("PROFILED", "20"))
MODES = {"graphql-core": "false", "compiled": "true"}


async def compare(url: str, seeded: Any) -> dict[str, Any]:
    keys = tokens(seeded)
    out: dict[str, Any] = {}
    async with contextlib.AsyncExitStack() as stack:
        apps = {}
        for mode, switch in MODES.items():
            os.environ["PORTICO_COMPILED_EXECUTION"] = switch
            apps[mode] = await stack.enter_async_context(portico_in_process(url))
        for name in REQUESTS:
            token = keys[AS[name]]
            bodies, sql = {}, {}
            for mode, (http, counter) in apps.items():
                for _ in range(5):
                    bodies[mode] = await ask(http, name, token)
                before = len(counter.statements)
                await ask(http, name, token)
                sql[mode] = len(counter.statements) - before
            assert bodies["compiled"] == bodies["graphql-core"], name
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 50, 1_000)  # as the server runs (server/warmup.py)
            wall: dict[str, list[float]] = {mode: [] for mode in apps}
            cpu: dict[str, list[float]] = {mode: [] for mode in apps}
            for _ in range(ROUNDS):
                for mode, (http, _) in apps.items():
                    for _ in range(N):
                        started, used = time.perf_counter(), time.process_time()
                        await ask(http, name, token)
                        wall[mode].append((time.perf_counter() - started) * 1000)
                        cpu[mode].append((time.process_time() - used) * 1000)
            out[name] = {}
            for mode, (http, _) in apps.items():
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(PROFILED):
                    await ask(http, name, token)
                profiler.disable()
                profile = summarise(profiler, PROFILED)
                calls = pstats.Stats(profiler).total_calls / PROFILED  # type: ignore[attr-defined]
                out[name][mode] = {
                    "sql_statements": sql[mode],
                    "wall_ms": {
                        "p50": round(statistics.median(wall[mode]), 2),
                        "min": round(min(wall[mode]), 2),
                    },
                    "cpu_ms": {
                        "p50": round(statistics.median(cpu[mode]), 2),
                        "min": round(min(cpu[mode]), 2),
                    },
                    "python_calls_per_request": round(calls),
                    "profiled_ms_per_request": profile["profiled_ms_per_request"],
                    "own_time_by_group_percent": profile["own_time_by_group_percent"],
                    "top15_own": profile["top15_own"],
                }
                shown = {k: v for k, v in out[name][mode].items() if k != "top15_own"}
                print(name, mode, json.dumps(shown), flush=True)
    return out


def main() -> None:
    url, seeded, _ = sqlite_database()
    results = asyncio.run(compare(url, seeded))
    if os.environ.get("OUT"):
        with open(os.environ["OUT"], "w") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
