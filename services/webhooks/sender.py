"""One attempt: the body POSTed, signed, to the endpoint, at an address checked just
before (:func:`services.webhooks.urls.check_url`: the name is resolved once, and the
connection goes to that address with the name as ``Host`` and TLS server name, so a
second lookup cannot send it elsewhere). Redirects are not followed: a 3xx is a failed
attempt like a 5xx."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from models.types import utcnow
from services.config import Settings
from services.errors import BadInput
from services.webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header
from services.webhooks.urls import Target, check_url

USER_AGENT = "Portico-Webhooks/1"
ERROR_MAX_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def pinned(target: Target) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL to connect to (the host replaced by its checked address), the ``Host``
    header, and the request extensions (the TLS server name)."""
    url = httpx.URL(target.url)
    host_header = url.netloc.decode("ascii")
    address = target.addresses[0]
    if address == target.host:
        return url, {}, {}
    return (
        url.copy_with(host=address),
        {"Host": host_header},
        {"sni_hostname": target.host},
    )


async def send(
    *, url: str, body: str, secrets: Sequence[str], event_id: str, settings: Settings
) -> Outcome:
    """POST ``body`` to ``url`` once; never raises for the endpoint's failures."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = await check_url(url, settings)
    except BadInput as error:
        return Outcome(None, elapsed(), error.message[:ERROR_MAX_LENGTH])
    content = body.encode()
    timestamp = int(utcnow().timestamp())
    connect_to, host, extensions = pinned(target)
    headers = {
        **host,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(secrets, content, timestamp),
        EVENT_ID_HEADER: event_id,
    }
    try:
        async with httpx.AsyncClient(
            timeout=settings.webhook_timeout_seconds, follow_redirects=False, trust_env=False
        ) as client:
            response = await client.post(
                connect_to, content=content, headers=headers, extensions=extensions
            )
    except httpx.TimeoutException:
        return Outcome(None, elapsed(), "Timed out.")
    except httpx.HTTPError as error:
        return Outcome(None, elapsed(), (str(error) or type(error).__name__)[:ERROR_MAX_LENGTH])
    problem = None
    if response.is_redirect:
        problem = "Redirects are not followed."
    elif not response.is_success:
        problem = f"HTTP {response.status_code}"
    return Outcome(response.status_code, elapsed(), problem)
