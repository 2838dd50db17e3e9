"""Signing in and out: the sign-in form (a magic link by e-mail), link tokens
(``open``, ``verify-email``, ``sign-in?token=``), staff "view as client", sign-out and
the e-mail unsubscribe form."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from auth.principals import Anonymous, ContactPrincipal
from server.portal_web.base import (
    BOTH,
    GET,
    POST,
    Page,
    Portal,
    Tab,
    first_message,
    public_branding,
    signed_in,
)
from server.portal_web.rendering import render
from server.portal_web.security import (
    CSRF_FIELD,
    SEED_COOKIE,
    new_seed,
    set_seed_cookie,
    set_session_cookie,
)
from services import sessions
from services.errors import Unauthenticated


def sign_in_page(
    portal: Portal,
    request: Request,
    branding: dict[str, Any],
    *,
    status_code: int = 200,
    sent: bool = False,
    error: str | None = None,
) -> Response:
    slug = request.path_params["account"]
    seed = request.cookies.get(SEED_COOKIE) or new_seed()
    response = render(
        "sign_in.html",
        {
            "portal": branding,
            "csrf": portal.csrf.issue(f"seed:{seed}"),
            "csrf_field": CSRF_FIELD,
            "base": f"/portal/{slug}",
            "sent": sent,
            "error": error,
            "notice": request.query_params.get("notice"),
            "nav": [],
            "read_only": False,
        },
        status_code=status_code,
    )
    set_seed_cookie(response, portal.settings, slug=slug, seed=seed)
    return response


async def sign_in(portal: Portal, request: Request) -> Response:
    if request.method == "GET" and "token" in request.query_params:
        return await portal.redeem(request)
    async with portal.runtime.sessions() as session:
        branding = await public_branding(portal, request, session)
        if branding is None:
            return portal.not_found()
        if request.method == "GET":
            return sign_in_page(portal, request, branding)
        seed = request.cookies.get(SEED_COOKIE) or ""
        form = await portal.form(request, f"seed:{seed}") if seed else None
        if form is None:
            return portal.forbidden()
        if "password" in form and branding.get("passwordLoginEnabled"):
            return await password_sign_in(portal, request, session, branding, form)
        answer = await portal.run(
            request,
            session,
            Anonymous(),
            "request_link",
            {"account": request.path_params["account"], "email": form.get("email", "")},
        )
        if answer.failures:
            message = answer.failures[0].message
            return sign_in_page(portal, request, branding, status_code=400, error=message)
        return sign_in_page(portal, request, branding, sent=True)


async def password_sign_in(
    portal: Portal,
    request: Request,
    session: AsyncSession,
    branding: dict[str, Any],
    form: dict[str, str],
) -> Response:
    """``portalSignIn`` with the form's email and password: the session as the cookie."""
    slug = request.path_params["account"]
    answer = await portal.run(
        request,
        session,
        Anonymous(),
        "portal_sign_in",
        {"account": slug, "email": form.get("email", ""), "password": form.get("password", "")},
    )
    payload = (answer.data or {}).get("portalSignIn")
    if payload is None or answer.failures:
        return sign_in_page(portal, request, branding, status_code=400, error=first_message(answer))
    return signed_in(portal, slug, payload, portal.url(slug))


async def view_as(portal: Portal, request: Request) -> Response:
    """A staff user's read-only "view as client" token (``viewAsContact``) as a cookie."""
    slug = request.path_params["account"]
    token = request.query_params.get("token", "")
    async with portal.runtime.sessions() as session:
        account = await portal.account(session, slug)
        try:
            principal = await sessions.authenticate(
                session=session,
                signer=portal.runtime.signer,
                token=token,
                max_age_seconds=portal.settings.session_ttl_hours * 3600,
            )
        except Unauthenticated:
            return portal.signed_out(slug, notice="link-failed")
    if (
        account is None
        or not isinstance(principal, ContactPrincipal)
        or not principal.read_only
        or principal.account_id != account.id
    ):
        return portal.signed_out(slug, notice="link-failed")
    response = portal.redirect(portal.url(slug))
    set_session_cookie(
        response,
        portal.settings,
        slug=slug,
        token=token,
        max_age=portal.settings.session_ttl_hours * 3600,
    )
    return response


async def sign_out(portal: Portal, request: Request) -> Response:
    async with portal.runtime.sessions() as session:
        visit = await portal.visit(request, session)
        if isinstance(visit, Response):
            return visit
        if await portal.form(request, visit.holder) is None:
            return portal.forbidden()
        await portal.run(request, session, visit.principal, "sign_out")
    return portal.signed_out(visit.slug, notice="signed-out")


async def unsubscribe(portal: Portal, request: Request) -> Response:
    async with portal.runtime.sessions() as session:
        branding = await public_branding(portal, request, session)
        if branding is None:
            return portal.not_found()
        slug = request.path_params["account"]
        seed = request.cookies.get(SEED_COOKIE) or new_seed()
        context: dict[str, Any] = {
            "portal": branding,
            "csrf": portal.csrf.issue(f"seed:{seed}"),
            "csrf_field": CSRF_FIELD,
            "base": f"/portal/{slug}",
            "nav": [],
            "read_only": False,
            "token": request.query_params.get("token", ""),
            "done": False,
            "error": None,
        }
        if request.method == "POST":
            token = await _one_click_token(request)
            if token is None:
                form = await portal.form(request, f"seed:{seed}")
                if form is None:
                    return portal.forbidden()
                token = form.get("token", "")
            answer = await portal.run(
                request, session, Anonymous(), "unsubscribe", {"token": token}
            )
            context["done"] = not answer.failures
            context["error"] = answer.failures[0].message if answer.failures else None
            context["token"] = token
        response = render("unsubscribe.html", context)
        set_seed_cookie(response, portal.settings, slug=slug, seed=seed)
        return response


async def _one_click_token(request: Request) -> str | None:
    """The link's token when this POST is a mail client's one-click unsubscribe (RFC 8058:
    the form ``List-Unsubscribe=One-Click`` posted to the List-Unsubscribe URL, with no
    cookie and no CSRF token). The signed token in the URL is the whole authority, as for
    the form, so a forged request can only do what the link's holder could."""
    token = request.query_params.get("token")
    if not token:
        return None
    form = await request.form()
    return token if form.get("List-Unsubscribe") == "One-Click" else None


async def open_link(portal: Portal, request: Request) -> Response:
    if "token" in request.query_params:
        return await portal.redeem(request)
    return portal.redirect(portal.url(request.path_params["account"]))


ROUTES: list[Page] = [
    Page("/sign-in", sign_in, BOTH),
    Page("/sign-out", sign_out, POST),
    Page("/view-as", view_as, GET),
    Page("/unsubscribe", unsubscribe, BOTH),
    Page("/open", open_link, GET),
    Page("/verify-email", open_link, GET),
]
TABS: list[Tab] = []
