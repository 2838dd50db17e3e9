"""Which URLs a webhook may call (SSRF): a partner's URL must not reach the server's own
network.

- ``https`` only, but in development and test, where ``http`` is allowed too;
- no credentials in the URL (``user:pass@``), no fragment;
- port 80 or 443 (or none);
- the host — an address, or every address its name resolves to (A and AAAA) — must be a
  public unicast one: no loopback, private, link-local (cloud metadata,
  169.254.169.254), shared (100.64/10), multicast, reserved or unspecified address,
  IPv4-mapped ones included.

Checked when the endpoint is registered *and* before each attempt (a name may resolve
elsewhere later: DNS rebinding); the attempt then connects to the address checked
(:mod:`.sender`). ``PORTICO_WEBHOOK_ALLOW_PRIVATE=true`` lifts the address, port and
scheme rules (tests, development against a local receiver); credentials stay refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from services.config import Settings
from services.errors import BadInput

URL_MAX_LENGTH = 2000
ALLOWED_PORTS = (80, 443)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(BadInput):
    """The URL may not be called; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where an attempt connects: the URL as given, and the addresses it was checked at."""

    url: str
    host: str
    addresses: tuple[str, ...]


def check_syntax(url: str, settings: Settings, *, field: str = "url") -> SplitResult:
    """``url`` split, if its form is allowed (nothing is resolved)."""
    text = url.strip()
    if not text or len(text) > URL_MAX_LENGTH:
        raise UnsafeUrl(f"Give an https URL of at most {URL_MAX_LENGTH} characters.", field=field)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrl("This is not a valid URL.", field=field) from error
    plain_allowed = settings.webhook_allow_private or settings.environment != "production"
    schemes = ("https", "http") if plain_allowed else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise UnsafeUrl(
            "Webhook URLs must be https://…" if len(schemes) == 1 else "Give an http(s) URL.",
            field=field,
        )
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("Webhook URLs may not contain credentials.", field=field)
    if parts.fragment:
        raise UnsafeUrl("Webhook URLs may not have a fragment (#…).", field=field)
    if port is not None and port not in ALLOWED_PORTS and not settings.webhook_allow_private:
        raise UnsafeUrl("Webhook URLs must use port 443 (or 80).", field=field)
    return parts


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public(mapped)
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_private
        and not address.is_unspecified
    )


async def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address ``host`` resolves to (itself, if it is an address)."""
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: dict[str, IPAddress] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]  # no IPv6 zone
        found.setdefault(text, ipaddress.ip_address(text))
    return tuple(found.values())


async def check_url(url: str, settings: Settings, *, field: str = "url") -> Target:
    """The target ``url`` may be called at, or :class:`UnsafeUrl` saying why not."""
    parts = check_syntax(url, settings, field=field)
    host = str(parts.hostname)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await resolve(host, port)
    except OSError as error:
        raise UnsafeUrl(f"The host {host!r} could not be resolved.", field=field) from error
    if not addresses:
        raise UnsafeUrl(f"The host {host!r} could not be resolved.", field=field)
    if not settings.webhook_allow_private:
        refused = [str(address) for address in addresses if not is_public(address)]
        if refused:
            raise UnsafeUrl(
                f"Webhook URLs must reach a public address; {host} is {', '.join(refused)}.",
                field=field,
            )
    return Target(url.strip(), host, tuple(str(address) for address in addresses))
