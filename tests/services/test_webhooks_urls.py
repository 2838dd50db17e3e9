"""Which webhook URLs may be called (SSRF), and the signature a partner checks."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import pytest

from services.config import Settings
from services.errors import BadInput
from services.webhooks.signing import new_secret, signature_header
from services.webhooks.urls import check_url, is_public

PRODUCTION = Settings(environment="production", secret_key="x" * 40)
TEST = Settings(environment="test")
ALLOWING = Settings(environment="production", secret_key="x" * 40, webhook_allow_private=True)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 -- an address refused, not one bound
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.215.14/hooks", "https"),
        ("ftp://93.184.215.14/hooks", "https"),
        ("https://user:pw@93.184.215.14/hooks", "credentials"),
        ("https://93.184.215.14:8443/hooks", "port"),
        ("https://93.184.215.14/hooks#x", "fragment"),
        ("https://127.0.0.1/hooks", "public address"),
        ("https://[::1]/hooks", "public address"),
        ("https://169.254.169.254/latest/meta-data", "public address"),
        ("https://localhost/hooks", "public address"),
        ("https:///hooks", "https"),
        ("https://93.184.215.14:99999/", "valid URL"),
    ],
)
async def test_production_refuses(url, reason):
    with pytest.raises(BadInput, match=reason):
        await check_url(url, PRODUCTION)


async def test_production_allows_https_to_a_public_address_on_443():
    target = await check_url("https://93.184.215.14/hooks?partner=1", PRODUCTION)
    assert target.addresses == ("93.184.215.14",)


async def test_development_and_test_allow_plain_http_but_not_private_addresses():
    assert (await check_url("http://93.184.215.14/hooks", TEST)).host == "93.184.215.14"
    with pytest.raises(BadInput, match="public address"):
        await check_url("http://10.0.0.8/hooks", TEST)


async def test_the_setting_allows_private_targets_and_other_ports_but_never_credentials():
    assert (await check_url("http://127.0.0.1:8123/hooks", ALLOWING)).addresses == ("127.0.0.1",)
    with pytest.raises(BadInput, match="credentials"):
        await check_url("http://user@127.0.0.1:8123/hooks", ALLOWING)


def test_the_signature_is_stripes_scheme():
    # given a secret, a body and a time
    secret, body, timestamp = new_secret(), b'{"id":"a:1"}', 1_767_225_600
    # when signed
    header = signature_header([secret], body, timestamp)
    # then a partner recomputes it from the raw body
    expected = hmac.new(secret.encode(), b"1767225600." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1767225600,v1={expected}"
    assert secret.startswith("whsec_")
    assert len(secret) > 40
