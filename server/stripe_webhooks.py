"""``POST /webhooks/stripe/{account}``: Stripe's deliveries for one account.

The raw body (bounded like every request by :class:`server.limits.BodySizeLimit`) and the
``Stripe-Signature`` header go to :func:`services.stripe_gateway.webhooks.receive_webhook`.
Answers: 200 with the outcome once the event is stored and handled (also for a duplicate
or an event Portico ignores, so Stripe stops retrying); 400 for a forged or stale
signature (nothing stored); 404 for an account without a Stripe connection; 409 for an
event that needs one Portico has not received yet (a dispute of a payment not seen paid:
not stored, Stripe retries); 500 when handling failed (rolled back: Stripe retries, and
``portico stripe-sync`` catches up).
"""

from __future__ import annotations

import uuid

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.errors import NotFound
from services.runtime import Runtime
from services.stripe_gateway.charges import NotYet
from services.stripe_gateway.webhooks import BadSignature, receive_webhook

log = structlog.get_logger("portico.stripe")


def stripe_webhook_route(runtime: Runtime) -> Route:
    async def receive(request: Request) -> JSONResponse:
        try:
            account_id = uuid.UUID(request.path_params["account"])
        except ValueError:
            return JSONResponse({"error": "Unknown endpoint."}, status_code=404)
        payload = await request.body()
        try:
            outcome = await receive_webhook(
                runtime, account_id, payload, request.headers.get("stripe-signature")
            )
        except NotFound:
            return JSONResponse({"error": "Unknown endpoint."}, status_code=404)
        except BadSignature as error:
            return JSONResponse({"error": error.message}, status_code=400)
        except NotYet as error:
            log.info("stripe_webhook_deferred", account_id=str(account_id), reason=error.message)
            return JSONResponse({"error": error.message}, status_code=409)
        except Exception:
            log.exception("stripe_webhook_failed", account_id=str(account_id))
            return JSONResponse({"error": "Not handled; retry."}, status_code=500)
        return JSONResponse({"received": True, "outcome": outcome})

    return Route("/webhooks/stripe/{account}", receive, methods=["POST"])
