"""Sign-in limits hold under concurrency: an attempt is counted before it is tried, so
parallel attempts cannot get past the limit; a success is given back, so correct sign-ins
never use up the failure budget. Staff ``signIn`` and contacts' ``portalSignIn``, with
the limiter in process memory and in Redis (shared by several server instances)."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import httpx
import pytest

from models.clients import Contact
from models.types import utcnow
from server.app import create_app
from services.db import create_engine
from services.passwords import hash_password
from services.runtime import Runtime
from tests.conftest import PASSWORD, SIGN_IN
from tests.portal.helpers import make_client

REDIS_URL = os.environ.get("PORTICO_TEST_REDIS_URL")
PORTAL_SIGN_IN = """
mutation($account: String!, $email: String!, $password: String!) {
  portalSignIn(account: $account, email: $email, password: $password) { token }
}
"""
WRONG = "Wrong-password-1"
PARALLEL = 60
RIGHT_AT = 45  # the 46th attempt


def code(body: dict[str, Any]) -> str:
    return "OK" if body.get("data") else str(body["errors"][0]["extensions"]["code"])


async def staff_attempt(post, password: str) -> str:
    return code(await post(SIGN_IN, {"email": "admin@acme.test", "password": password}))


def portal_attempt(slug: str):
    async def attempt(post, password: str) -> str:
        variables = {"account": slug, "email": "jane@smith.test", "password": password}
        return code(await post(PORTAL_SIGN_IN, variables))

    return attempt


async def contact_with_password(gql, tenant, runtime) -> None:
    """Jane of Smith & Co, with a verified email and ``PASSWORD``."""
    client = await make_client(gql, tenant.admin)
    async with runtime.sessions() as session:
        contact = await session.get(Contact, uuid.UUID(client["contacts"][0]["id"]))
        assert contact is not None
        contact.password_hash = await hash_password(PASSWORD)
        contact.email_verified_at = utcnow()
        await session.commit()


def poster(http: httpx.AsyncClient):
    async def post(query: str, variables: dict[str, str]) -> dict[str, Any]:
        response = await http.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        return body

    return post


async def flood(posts, attempt) -> list[str]:
    """60 parallel attempts, spread over ``posts`` (server instances); the 46th has the
    right password. Requests started together reach the limiter in no fixed order, so
    each one sets off a little after the one before (all 60 are still in flight at
    once)."""

    async def nth(n: int) -> str:
        await asyncio.sleep(n * 0.001)
        answer: str = await attempt(posts[n % len(posts)], PASSWORD if n == RIGHT_AT else WRONG)
        return answer

    return list(await asyncio.gather(*(nth(n) for n in range(PARALLEL))))


def assert_limited(codes: list[str]) -> None:
    # at most 5 attempts (the per-email limit) were evaluated, all of them wrong
    assert codes.count("UNAUTHENTICATED") == 5, codes
    assert codes.count("RATE_LIMITED") == PARALLEL - 5
    # and the right password, coming 46th, was refused without being checked
    assert codes[RIGHT_AT] == "RATE_LIMITED"


@pytest.mark.parametrize("kind", ["staff", "portal"])
async def test_parallel_attempts_never_exceed_the_limit(gql, tenant, runtime, client, kind):
    # given a limit of 5 failures per email in 15 minutes
    assert runtime.settings.sign_in_attempts_per_email == "5/15 minutes"
    attempt = staff_attempt
    if kind == "portal":
        await contact_with_password(gql, tenant, runtime)
        attempt = portal_attempt(tenant.slug)
    # when 60 attempts for one email run at once
    codes = await flood([poster(client)], attempt)
    # then only 5 are evaluated
    assert_limited(codes)


@pytest.mark.parametrize("kind", ["staff", "portal"])
async def test_successes_do_not_use_up_the_failure_budget(gql, tenant, runtime, client, kind):
    attempt = staff_attempt
    if kind == "portal":
        await contact_with_password(gql, tenant, runtime)
        attempt = portal_attempt(tenant.slug)
    post = poster(client)
    # given a user who signs in correctly more often than the limit
    assert [await attempt(post, PASSWORD) for _ in range(8)] == ["OK"] * 8
    # when they then mistype their password four times
    assert [await attempt(post, WRONG) for _ in range(4)] == ["UNAUTHENTICATED"] * 4
    # then they can still sign in
    assert await attempt(post, PASSWORD) == "OK"
    # and only the fifth failure uses up the budget
    assert await attempt(post, WRONG) == "UNAUTHENTICATED"
    assert await attempt(post, PASSWORD) == "RATE_LIMITED"


@pytest.mark.skipif(not REDIS_URL, reason="PORTICO_TEST_REDIS_URL is not set")
@pytest.mark.parametrize("kind", ["staff", "portal"])
async def test_the_limit_holds_across_instances_sharing_redis(gql, tenant, runtime, backend, kind):
    """Two server instances share the database and Redis; 60 parallel attempts spread
    over both are still held to 5."""
    attempt = staff_attempt
    if kind == "portal":
        await contact_with_password(gql, tenant, runtime)
        attempt = portal_attempt(tenant.slug)
    settings = runtime.settings.model_copy(update={"redis_url": REDIS_URL})
    engine_b = create_engine(backend.url, **backend.engine_kwargs)
    instance_a = Runtime.build(settings, runtime.engine)
    instance_b = Runtime.build(settings, engine_b)
    await instance_a.limiter.reset()
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(runtime=instance_a)),
                base_url="http://portal.test",
            ) as http_a,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(runtime=instance_b)),
                base_url="http://portal.test",
            ) as http_b,
        ):
            codes = await flood([poster(http_a), poster(http_b)], attempt)
        assert_limited(codes)
    finally:
        await instance_a.limiter.reset()
        await engine_b.dispose()
