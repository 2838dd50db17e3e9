"""Timing of ``requestMagicLink`` for a known and an unknown email.

The answer must not tell whether an email belongs to a contact - not by its content and
not by its timing. Requests for a known and an unknown email are interleaved over real
HTTP (ASGI) against a migrated SQLite database; the background work (lookup, link, mail)
is drained between requests, outside the measured time.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import structlog

from models.clients import Client, Contact
from server.app import create_app
from server.migrate import upgrade_engine
from services.accounts import create_account
from services.config import Settings
from services.db import create_engine
from services.runtime import Runtime

REQUEST = "mutation($a: String!, $e: String!) { requestMagicLink(account: $a, email: $e) }"


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "p90_ms": round(ordered[int(len(ordered) * 0.9)] * 1000, 3),
    }


async def _measure(rounds: int) -> dict[str, Any]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        settings = Settings(
            environment="test",
            database_url=url,
            secret_key=secrets.token_urlsafe(32),
            magic_links_per_email="1000000/minute",
            magic_links_per_address="1000000/minute",
        )
        engine = create_engine(url)
        await upgrade_engine(engine)
        runtime = Runtime.build(settings, engine)
        async with runtime.sessions() as session:
            account = await create_account(session, name="Bench", slug="bench")
            client = Client(account_id=account.id, name="Known Co")
            session.add(client)
            await session.flush()
            session.add(Contact(account_id=account.id, client_id=client.id, email="known@b.test"))
            await session.commit()
        app = create_app(runtime=runtime)
        samples: dict[str, list[float]] = {"known": [], "unknown": []}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for n in range(rounds + 20):
                for label, email in (("known", "known@b.test"), ("unknown", f"u{n}@b.test")):
                    start = time.perf_counter()
                    response = await http.post(
                        "/graphql", json={"query": REQUEST, "variables": {"a": "bench", "e": email}}
                    )
                    elapsed = time.perf_counter() - start
                    assert response.json()["data"] == {"requestMagicLink": True}
                    await runtime.background.drain()
                    await runtime.mailer.drain()
                    if n >= 20:  # the first rounds warm caches up
                        samples[label].append(elapsed)
        await engine.dispose()
    known, unknown = _summary(samples["known"]), _summary(samples["unknown"])
    return {
        "rounds": rounds,
        "known_email": known,
        "unknown_email": unknown,
        "median_difference_ms": round(known["median_ms"] - unknown["median_ms"], 3),
        "median_ratio": round(known["median_ms"] / unknown["median_ms"], 3),
    }


def magic_link_timing(rounds: int = 300) -> dict[str, Any]:
    return asyncio.run(_measure(rounds))
