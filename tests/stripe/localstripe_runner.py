"""Run localstripe (a stateful fake Stripe server) on 127.0.0.1:<port>, in memory.

``python -m tests.stripe.localstripe_runner <port>``. Two changes to localstripe, both on
the test side (Portico's requests stay what the live API expects): its store is not
written to a shared pickle in /tmp on every change (parallel test runs would share it),
PaymentIntents accept ``setup_future_usage``, which the live API takes to save the
card while paying and localstripe 1.15 refuses as unexpected, and ``POST
/_config/refund_status`` (form field ``status``) sets the status new refunds get (Stripe
answers ``pending`` for some payment methods and confirms later; localstripe always
``succeeded``).
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


def main() -> None:
    _patch()
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
