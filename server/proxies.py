"""Which reverse proxies' ``X-Forwarded-For`` is believed (``trusted_proxies``).

By default none: the client address (rate limits, logs) is the connection's peer, and a
forwarded header is ignored whoever sends it. Listed proxies (addresses or CIDR
networks) get uvicorn's ``ProxyHeadersMiddleware`` inside the app, so the rule holds
whatever server runs it (``portico serve`` turns uvicorn's own proxy handling off, whose
default trusts any proxy on 127.0.0.1). The client is then the right-most address in
``X-Forwarded-For`` that is not itself a trusted proxy.
"""

from __future__ import annotations

import ipaddress

from starlette.middleware import Middleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def parse_trusted_proxies(entries: list[str]) -> list[str]:
    """The entries, each checked to be an IP address or network: uvicorn would take a
    typo for a host name and silently trust nothing (or the wrong thing)."""
    checked = []
    for entry in entries:
        value = entry.strip()
        try:
            if "/" in value:
                checked.append(str(ipaddress.ip_network(value, strict=False)))
            else:
                checked.append(str(ipaddress.ip_address(value)))
        except ValueError as error:
            raise ValueError(
                f"PORTICO_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from error
    return checked


def proxy_headers_middleware(entries: list[str]) -> list[Middleware]:
    trusted = parse_trusted_proxies(entries)
    if not trusted:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)]
