"""A flood of failed sign-ins does not stall the server: argon2 runs in worker threads,
a few at a time, and callers beyond the waiting line are refused at once."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from auth.passwords import PasswordHasherPool, argon2_parameters
from tests.conftest import PASSWORD, SIGN_IN

pytestmark = pytest.mark.serial  # timed or memory-bound: run alone, not beside another worker

HEALTHZ_WORST_MS = 200
FLOOD = 50
ARRIVAL = 0.02
"""Seconds between the flood's requests as they arrive: 50 within a second, and all in
flight together (the hashing line takes seconds to drain). Parsing and planning 50
GraphQL requests that land in the same instant is itself a few hundred milliseconds of
event-loop work on a loaded machine, which is not what this test is about."""


@pytest.fixture
def quiet_gc():
    """Objects the suite made before this test are left out of garbage collection while it
    runs, as a served app's start-up heap is (``server.warmup``, run by the lifespan, which
    the ASGI test client does not run): a full collection over them pauses the loop."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture
def settings(settings):
    """The production hashing bounds; an address limit high enough that every attempt of
    the flood gets to argon2, and time enough for the queued ones to finish."""
    return settings.model_copy(
        update={"sign_in_attempts_per_address": "1000/15 minutes", "execution_timeout_seconds": 120}
    )


async def _poll_healthz(client, stop: asyncio.Event) -> list[float]:
    latencies = []
    while not stop.is_set():
        start = time.perf_counter()
        response = await client.get("/healthz")
        latencies.append(time.perf_counter() - start)
        assert response.status_code == 200
        await asyncio.sleep(0.01)
    return latencies


async def _sign_in(gql, email: str, password: str, *, after: float = 0) -> tuple[str, float]:
    await asyncio.sleep(after)
    start = time.perf_counter()
    body = await gql(SIGN_IN, {"email": email, "password": password})
    elapsed = time.perf_counter() - start
    code = "OK" if body.get("data") else body["errors"][0]["extensions"]["code"]
    return code, elapsed


async def test_failed_sign_ins_with_real_argon2_do_not_stall_healthz(
    client, gql, tenant, runtime, quiet_gc
):
    # given production argon2 parameters and a poller of /healthz
    with argon2_parameters():
        stop = asyncio.Event()
        poller = asyncio.create_task(_poll_healthz(client, stop))
        await asyncio.sleep(0.05)
        # when 50 failed sign-ins (unknown emails: the timing equaliser's real hash) are
        # in flight at once
        results = await asyncio.gather(
            *(
                _sign_in(gql, f"intruder{n}@acme.test", "Guess-password-1", after=n * ARRIVAL)
                for n in range(FLOOD)
            )
        )
        stop.set()
        latencies = await poller
    # then /healthz answered promptly throughout
    assert len(latencies) >= 5
    assert max(latencies) * 1000 < HEALTHZ_WORST_MS, sorted(latencies)[-5:]
    # and the attempts that got a hashing slot or a place in line were evaluated, and
    # the others refused at once
    codes = [code for code, _ in results]
    line = runtime.settings.password_hash_concurrency + runtime.settings.password_hash_queue
    assert set(codes) == {"UNAUTHENTICATED", "RATE_LIMITED"}
    assert codes.count("UNAUTHENTICATED") >= line


async def test_callers_beyond_the_hashing_line_are_refused_at_once(runtime, gql, tenant):
    # given one hashing slot and one place in line (the runtime's pool, made smaller)
    runtime.passwords = PasswordHasherPool(concurrency=1, queue=1)
    callers = 12
    with argon2_parameters():
        # when more callers than slot + line try to sign in at once
        results = await asyncio.gather(
            *(_sign_in(gql, f"caller{n}@acme.test", "Guess-password-1") for n in range(callers))
        )
    codes = [code for code, _ in results]
    refused = [elapsed for code, elapsed in results if code == "RATE_LIMITED"]
    evaluated = [elapsed for code, elapsed in results if code == "UNAUTHENTICATED"]
    # then the ones beyond the line are refused, without waiting for a hash
    assert set(codes) == {"UNAUTHENTICATED", "RATE_LIMITED"}
    assert len(evaluated) >= 2
    assert len(refused) >= callers // 2
    assert max(refused) < min(evaluated)
    # and once the flood is over, a correct sign-in goes through (refusals cost no budget)
    body = await gql(SIGN_IN, {"email": "admin@acme.test", "password": PASSWORD})
    assert body["data"]["signIn"]["token"]
