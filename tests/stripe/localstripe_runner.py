"""Run localstripe (a stateful fake Stripe server) on 127.0.0.1:<port>, in memory.

``python -m tests.stripe.localstripe_runner <port>``. Changes to localstripe, all on the
test side (Portico's requests stay what the live API expects): its store is not written
to a shared pickle in /tmp on every change (parallel test runs would share it);
PaymentIntents accept ``setup_future_usage``, which the live API takes to save the card
while paying and localstripe 1.15 refuses as unexpected; as the live API does, a
SetupIntent that succeeds, or a PaymentIntent with ``setup_future_usage`` that succeeds,
attaches its PaymentMethod to the intent's Customer (localstripe leaves it unattached);
and ``POST /_config/refund_status`` (form field ``status``) sets the status new refunds
get (Stripe answers ``pending`` for some payment methods and confirms later; localstripe
always ``succeeded``).
"""

from __future__ import annotations

import sys
from typing import Any

from aiohttp import web
from localstripe import resources  # type: ignore[import-untyped]
from localstripe.server import app  # type: ignore[import-untyped]

REFUNDS = {"status": "succeeded"}


def _patch() -> None:
    resources.Store.dump_to_disk = lambda self: None
    original = resources.PaymentIntent.__init__

    def init(self: Any, *args: Any, setup_future_usage: Any = None, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.setup_future_usage = setup_future_usage

    resources.PaymentIntent.__init__ = init
    original_refund = resources.Refund.__init__

    def init_refund(self: Any, *args: Any, **kwargs: Any) -> None:
        original_refund(self, *args, **kwargs)
        self.status = REFUNDS["status"]

    resources.Refund.__init__ = init_refund

    async def refund_status(request: web.Request) -> web.Response:
        REFUNDS["status"] = str((await request.post())["status"])
        return web.json_response(REFUNDS)

    app.router.add_post("/_config/refund_status", refund_status)

    attach_pm = resources.SetupIntent._attach_pm

    def attach_on_setup(self: Any, pm: Any) -> None:
        attach_pm(self, pm)
        if self.status == "succeeded" and self.customer:
            pm.customer = self.customer

    resources.SetupIntent._attach_pm = attach_on_setup
    on_success = resources.PaymentIntent._on_success

    def attach_on_payment(self: Any) -> None:
        if getattr(self, "setup_future_usage", None) and self.customer and self.payment_method:
            resources.PaymentMethod._api_retrieve(self.payment_method).customer = self.customer
        on_success(self)

    resources.PaymentIntent._on_success = attach_on_payment


def main() -> None:
    _patch()
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
