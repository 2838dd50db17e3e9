"""localstripe as a real process for the tests, and what a test does with it.

``localstripe`` (session-scoped, per test worker) starts the fake Stripe server; a test
that asks for it gets settings whose ``stripe_api_base`` points there (tests/conftest.py),
so the official library's real code paths run against it. Helpers do what Stripe.js does
in a browser (create the card's PaymentMethod, set it on the intent, confirm it) and what
Stripe does for the webhooks localstripe does not send (events signed exactly as Stripe
signs them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.smtp_server import free_port

SECRET_KEY = "sk_test_portico0123456789"
PUBLISHABLE_KEY = "pk_test_portico0123456789"
WEBHOOK_SECRET = "whsec_portico_test_0123456789"
CARDS = {
    "ok": "4242424242424242",
    "fails_to_charge": "4000000000000341",
    "refused": "4000000000000002",
    "3ds": "4000002500003155",
}


@dataclass(frozen=True)
class LocalStripe:
    url: str

    def _post(self, path: str, data: dict[str, Any], key: str = SECRET_KEY) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", data=data, auth=(key, ""), timeout=10)

    def card(self, number: str) -> str:
        """A PaymentMethod for the card, as Stripe.js makes it."""
        response = self._post(
            "/v1/payment_methods",
            {
                "type": "card",
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
            },
        )
        assert response.status_code == 200, response.text
        pm_id: str = response.json()["id"]
        return pm_id

    def confirm(self, intent_id: str, card: str) -> httpx.Response:
        """What ``stripe.confirmCardPayment(clientSecret, {payment_method})`` does."""
        pm = self.card(CARDS[card])
        set_method = self._post(f"/v1/payment_intents/{intent_id}", {"payment_method": pm})
        assert set_method.status_code == 200, set_method.text
        confirmed: httpx.Response = self._post(f"/v1/payment_intents/{intent_id}/confirm", {})
        return confirmed

    def confirm_setup(self, setup_intent_id: str, card: str) -> tuple[httpx.Response, str]:
        """What ``stripe.confirmCardSetup(clientSecret, {payment_method})`` does; the
        answer and the card's PaymentMethod id."""
        pm = self.card(CARDS[card])
        confirmed = self._post(
            f"/v1/setup_intents/{setup_intent_id}/confirm", {"payment_method": pm}
        )
        return confirmed, pm

    def get(self, path: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}{path}", auth=(SECRET_KEY, ""), timeout=10)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def detach(self, pm_id: str) -> None:
        """Detaching at Stripe (say, from its dashboard)."""
        response = self._post(f"/v1/payment_methods/{pm_id}/detach", {})
        assert response.status_code == 200, response.text

    def authenticate(self, intent_id: str, client_secret: str, *, success: bool = True) -> None:
        """The customer passes (or fails) the 3-D Secure challenge (Stripe.js, with the
        publishable key in the form)."""
        response = httpx.post(
            f"{self.url}/v1/payment_intents/{intent_id}/_authenticate",
            params={"success": "true" if success else "false"},
            data={"key": PUBLISHABLE_KEY, "client_secret": client_secret},
            timeout=10,
        )
        assert response.status_code == 200, response.text

    def intent(self, intent_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}/v1/payment_intents/{intent_id}", auth=(SECRET_KEY, ""), timeout=10
        )
        assert response.status_code == 200, response.text
        intent: dict[str, Any] = response.json()
        return intent

    def refunds_of(self, intent_id: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.url}/v1/refunds",
            params={"payment_intent": intent_id, "limit": 100},
            auth=(SECRET_KEY, ""),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        refunds: list[dict[str, Any]] = response.json()["data"]
        return refunds

    def intents_for(self, account_id: object) -> list[dict[str, Any]]:
        """Every PaymentIntent Portico made for the account (by its metadata)."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100} | ({"starting_after": after} if after else {})
            response = httpx.get(
                f"{self.url}/v1/payment_intents",
                params=params,
                auth=(SECRET_KEY, ""),
                timeout=10,
            )
            assert response.status_code == 200, response.text
            page = response.json()
            found += [
                intent
                for intent in page["data"]
                if (intent.get("metadata") or {}).get("portico_account_id") == str(account_id)
            ]
            if not page.get("has_more") or not page["data"]:
                return found
            after = page["data"][-1]["id"]

    def refunds_become(self, status: str) -> None:
        """The status new refunds get (a test-side extension: localstripe_runner)."""
        response = httpx.post(f"{self.url}/_config/refund_status", data={"status": status})
        assert response.status_code == 200, response.text

    def send_webhooks_to(self, url: str, *, secret: str = WEBHOOK_SECRET) -> None:
        response = self._post(f"/_config/webhooks/{free_port()}", {"url": url, "secret": secret})
        assert response.status_code == 200, response.text


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None):
    """The body and ``Stripe-Signature`` header Stripe would send for ``event``."""
    body = json.dumps(event).encode()
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {
        "Stripe-Signature": f"t={timestamp},v1={digest}",
        "Content-Type": "application/json",
    }


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tests.stripe.localstripe_runner", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/v1/balance", auth=(SECRET_KEY, ""), timeout=1).status_code:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "localstripe exited"
            assert time.monotonic() < deadline, "localstripe did not start"
            time.sleep(0.1)
        yield LocalStripe(url)
    finally:
        process.terminate()
        process.wait(timeout=10)
