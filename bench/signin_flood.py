"""``/healthz`` latency while 50 failed sign-ins are in flight, with production argon2
parameters, over real HTTP (ASGI) against a migrated SQLite database.

Argon2 runs in the hashing pool's worker threads; the event loop keeps answering. The
flood's requests arrive 20 ms apart (all in flight together: the hashing line takes
seconds to drain); callers beyond the line are refused at once (``RATE_LIMITED``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import structlog

from auth.passwords import argon2_parameters
from server.app import create_app
from server.migrate import upgrade_engine
from server.warmup import warm_up
from services.config import Settings
from services.db import create_engine
from services.runtime import Runtime

SIGN_IN = "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }"
FLOOD = 50
ARRIVAL = 0.02


async def _poll(http: httpx.AsyncClient, stop: asyncio.Event) -> list[float]:
    latencies = []
    while not stop.is_set():
        start = time.perf_counter()
        await http.get("/healthz")
        latencies.append(time.perf_counter() - start)
        await asyncio.sleep(0.01)
    return latencies


async def _sign_in(http: httpx.AsyncClient, n: int) -> str:
    await asyncio.sleep(n * ARRIVAL)
    variables = {"e": f"intruder{n}@bench.test", "p": "Guess-password-1"}
    body = (await http.post("/graphql", json={"query": SIGN_IN, "variables": variables})).json()
    return "OK" if body.get("data") else str(body["errors"][0]["extensions"]["code"])


async def _measure() -> dict[str, Any]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        settings = Settings(
            environment="test",
            database_url=url,
            secret_key=secrets.token_urlsafe(32),
            sign_in_attempts_per_address="1000/15 minutes",
            execution_timeout_seconds=120,
        )
        engine = create_engine(url)
        await upgrade_engine(engine)
        runtime = Runtime.build(settings, engine)
        app = create_app(runtime=runtime)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as http:
            await http.get("/healthz")
            warm_up(
                app.state.schemas, gc_thresholds=settings.gc_thresholds
            )  # what the app's lifespan does at start-up
            with argon2_parameters():
                stop = asyncio.Event()
                poller = asyncio.create_task(_poll(http, stop))
                start = time.perf_counter()
                codes = await asyncio.gather(*(_sign_in(http, n) for n in range(FLOOD)))
                duration = time.perf_counter() - start
                stop.set()
                latencies = sorted(await poller)
        await engine.dispose()
    return {
        "failed_sign_ins": FLOOD,
        "arrival_ms": ARRIVAL * 1000,
        "hash_concurrency": settings.password_hash_concurrency,
        "hash_queue": settings.password_hash_queue,
        "answers": dict(Counter(codes)),
        "flood_seconds": round(duration, 2),
        "healthz_samples": len(latencies),
        "healthz_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "healthz_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        "healthz_worst_ms": round(latencies[-1] * 1000, 1),
    }


def signin_flood() -> dict[str, Any]:
    return asyncio.run(_measure())
