"""Subscriptions: the list with each plan, one subscription with what the account lets
the client do (cancel, or ask to; change plan after seeing the prorated price; change
the card it is charged to)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import (
    GET,
    POST,
    Page,
    Portal,
    Tab,
    Visit,
    path_id,
)
from server.portal_web.documents import Answer

CURRENT = "subscriptions"
DETAIL_PARTS = ("subscription_card",)


async def subscriptions(portal: Portal, request: Request) -> Response:
    return await portal.page(request, "subscriptions", current=CURRENT)


async def subscription(portal: Portal, request: Request) -> Response:
    subscription_id = path_id(request)
    if subscription_id is None:
        return portal.not_found()
    return await portal.page(
        request,
        "subscription",
        current=CURRENT,
        variables={"id": subscription_id},
        parts=DETAIL_PARTS,
        error=None,
    )


async def with_error(
    portal: Portal, visit: Visit, subscription_id: str, answer: Answer
) -> Response:
    """The subscription again with what went wrong (400); 404 when it is not theirs."""
    return await portal.shown_with_error(
        visit,
        answer,
        document="subscription",
        variables={"id": subscription_id},
        template="subscription.html",
        current=CURRENT,
        parts=DETAIL_PARTS,
    )


async def subscription_action(
    portal: Portal,
    request: Request,
    name: str,
    notice: str,
    variables: Callable[[dict[str, str]], dict[str, Any]],
) -> Response:
    subscription_id = path_id(request)
    if subscription_id is None:
        return portal.not_found()

    async def done(visit: Visit, _data: dict[str, Any]) -> Response:
        return portal.redirect(
            portal.url(visit.slug, f"subscriptions/{subscription_id}", notice=notice)
        )

    async def failed(visit: Visit, answer: Answer) -> Response:
        return await with_error(portal, visit, subscription_id, answer)

    return await portal.action(
        request,
        name,
        lambda form: {"id": subscription_id, **variables(form)},
        done=done,
        failed=failed,
    )


async def cancel(portal: Portal, request: Request) -> Response:
    return await subscription_action(
        portal,
        request,
        "cancel_subscription",
        "canceled",
        lambda form: {
            "atPeriodEnd": form.get("when") != "now",
            "reason": form.get("reason") or None,
        },
    )


async def request_cancellation(portal: Portal, request: Request) -> Response:
    return await subscription_action(
        portal,
        request,
        "request_cancellation",
        "cancel-requested",
        lambda form: {"reason": form.get("reason") or None},
    )


async def change_card(portal: Portal, request: Request) -> Response:
    return await subscription_action(
        portal,
        request,
        "change_subscription_card",
        "card-changed",
        lambda form: {"paymentMethodId": form.get("payment_method", "")},
    )


async def preview_change(portal: Portal, request: Request) -> Response:
    """What moving to ``?plan=`` costs now (``previewSubscriptionPlanChange``), with the
    form that makes the change."""
    subscription_id = path_id(request)
    plan_id = request.query_params.get("plan", "")
    if subscription_id is None or not plan_id:
        return portal.not_found()
    async with portal.runtime.sessions() as session:
        visit = await portal.visit(request, session)
        if isinstance(visit, Response):
            return visit
        if not portal.documents.exists(visit.principal, "preview_plan_change"):
            return portal.not_found()
        answer = await portal.run(
            request,
            session,
            visit.principal,
            "preview_plan_change",
            {"id": subscription_id, "planId": plan_id},
        )
        if "UNAUTHENTICATED" in answer.codes:
            return portal.signed_out(visit.slug, notice="signed-out")
        if answer.data is None or answer.failures:
            return await with_error(portal, visit, subscription_id, answer)
        plans = [plan for plan in answer.data["subscriptionPlans"] if plan["id"] == plan_id]
        if not plans:
            return portal.not_found()
        return await portal.render_page(
            visit,
            "preview_plan_change.html",
            answer.data,
            current=CURRENT,
            plan=plans[0],
            subscription_id=subscription_id,
            error=None,
        )


async def change_plan(portal: Portal, request: Request) -> Response:
    return await subscription_action(
        portal,
        request,
        "change_plan",
        "plan-changed",
        lambda form: {"planId": form.get("plan", "")},
    )


ROUTES: list[Page] = [
    Page("/subscriptions", subscriptions, GET),
    Page("/subscriptions/{id}", subscription, GET),
    Page("/subscriptions/{id}/cancel", cancel, POST),
    Page("/subscriptions/{id}/request-cancellation", request_cancellation, POST),
    Page("/subscriptions/{id}/card", change_card, POST),
    Page("/subscriptions/{id}/change", preview_change, GET),
    Page("/subscriptions/{id}/change", change_plan, POST),
]
TABS: list[Tab] = [Tab("Subscriptions", CURRENT, "subscriptions", order=50)]
