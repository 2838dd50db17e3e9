"""``X-Forwarded-For`` is believed only from ``trusted_proxies`` (issue 9): by default a
client cannot pick its own address, so it cannot dodge the per-address rate limits."""

from __future__ import annotations

import pytest

from server.app import create_app
from tests.server.limit_helpers import http_client, with_settings

SIGN_IN = """
mutation($email: String!, $password: String!) {
  signIn(email: $email, password: $password) { token }
}
"""
PEER = "203.0.113.7"  # the address the test client connects from


def strict(runtime, **overrides):
    """At most two sign-in attempts per address (many per email)."""
    return with_settings(
        runtime,
        sign_in_attempts_per_address="2/15 minutes",
        sign_in_attempts_per_email="100/15 minutes",
        **overrides,
    )


async def attempt(client, forwarded_for: str | None) -> str:
    """The code a failed sign-in answers (wrong password)."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    variables = {"email": "nobody@acme.test", "password": "wrong-Password-1"}
    response = await client.post(
        "/graphql", json={"query": SIGN_IN, "variables": variables}, headers=headers
    )
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


async def test_by_default_a_forwarded_address_is_ignored(runtime):
    async with http_client(strict(runtime)) as client:
        codes = [await attempt(client, f"198.51.100.{n}") for n in range(3)]
    assert codes[:2] == ["UNAUTHENTICATED", "UNAUTHENTICATED"]
    assert codes[2] == "RATE_LIMITED"  # all three counted against the peer


async def test_a_trusted_proxy_passes_on_the_client_address(runtime):
    trusting = strict(runtime, trusted_proxies=["203.0.113.0/24"])
    async with http_client(trusting) as client:
        spread = [await attempt(client, f"198.51.100.{n}") for n in range(3)]
        same = [await attempt(client, "198.51.100.200") for _ in range(3)]
        # a client that forges the header behind the proxy only adds to the left of it
        forged = [await attempt(client, f"10.9.9.{n}, 198.51.100.201") for n in range(3)]
    assert "RATE_LIMITED" not in spread
    assert same[2] == "RATE_LIMITED"
    assert forged[2] == "RATE_LIMITED"


async def test_an_untrusted_peer_cannot_borrow_the_proxies_trust(runtime):
    trusting = strict(runtime, trusted_proxies=["192.0.2.1"])
    async with http_client(trusting, address=PEER) as client:
        codes = [await attempt(client, f"198.51.100.{n}") for n in range(3)]
    assert codes[2] == "RATE_LIMITED"


def test_a_malformed_entry_stops_the_app_from_starting(runtime):
    with pytest.raises(ValueError, match="not an IP address or network"):
        create_app(runtime=with_settings(runtime, trusted_proxies=["proxy.internal"]))
