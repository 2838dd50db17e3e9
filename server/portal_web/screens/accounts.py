"""Passwords and new accounts, before sign-in: accepting a mailed invite (set a password,
signed in), resetting a password (ask for the mail, then set a new one from its link),
and registering where the account allows it.

A mailed link's token leaves the URL at once: the first GET keeps it in a short-lived
HttpOnly cookie scoped to the page and answers a 303 to the same page without it; the
form's POST reads it from there.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from auth.passwords import MIN_PASSWORD_LENGTH
from auth.principals import Anonymous
from server.portal_web.base import (
    BOTH,
    Page,
    Portal,
    Tab,
    first_message,
    public_branding,
    public_form,
    public_page,
    signed_in,
)
from server.portal_web.security import secure_cookies

LINK_COOKIE = "portico_portal_link"
LINK_COOKIE_MAX_AGE = 3600


def _keep_token(portal: Portal, request: Request) -> Response:
    """303 to the page without ``?token=``, the token kept in the link cookie."""
    response = portal.redirect(request.url.path)
    response.set_cookie(
        LINK_COOKIE,
        request.query_params["token"],
        max_age=LINK_COOKIE_MAX_AGE,
        path=request.url.path,
        httponly=True,
        secure=secure_cookies(portal.settings),
        samesite="lax",
    )
    return response


def _forget_token(portal: Portal, request: Request, response: Response) -> Response:
    response.delete_cookie(
        LINK_COOKIE,
        path=request.url.path,
        httponly=True,
        secure=secure_cookies(portal.settings),
        samesite="lax",
    )
    return response


async def _set_password(
    portal: Portal, request: Request, *, purpose: str, document: str, field: str
) -> Response:
    """The set-a-password page of an invite (``accept-invite``) or a reset link
    (``reset-password?token=``)."""
    if request.method == "GET" and "token" in request.query_params:
        return _keep_token(portal, request)
    slug = request.path_params["account"]
    token = request.cookies.get(LINK_COOKIE, "")
    path = request.url.path.removeprefix(f"/portal/{slug}/")
    texts: dict[str, Any] = {
        "heading": "Accept your invitation" if purpose == "invite" else "Set a new password",
        "button": "Set password and sign in",
        "purpose": purpose,
        "path": path,
        "has_link": bool(token),
        "min_length": MIN_PASSWORD_LENGTH,
    }
    async with portal.runtime.sessions() as session:
        branding = await public_branding(portal, request, session)
        if branding is None:
            return portal.not_found()
        if request.method == "GET":
            return public_page(portal, request, "set_password.html", branding, **texts)
        form = await public_form(portal, request)
        if form is None:
            return portal.forbidden()
        answer = await portal.run(
            request,
            session,
            Anonymous(),
            document,
            {"token": token, "password": form.get("password", ""), "account": slug},
        )
    payload = (answer.data or {}).get(field)
    if payload is not None and not answer.failures:
        return _forget_token(portal, request, signed_in(portal, slug, payload, portal.url(slug)))
    if "UNAUTHENTICATED" in answer.codes or not token:
        response = portal.redirect(portal.url(slug, "sign-in", notice="link-failed"))
        return _forget_token(portal, request, response)
    return public_page(
        portal,
        request,
        "set_password.html",
        branding,
        status_code=400,
        error=first_message(answer),
        **texts,
    )


async def accept_invite(portal: Portal, request: Request) -> Response:
    return await _set_password(
        portal, request, purpose="invite", document="accept_invite", field="acceptInvite"
    )


async def reset_password(portal: Portal, request: Request) -> Response:
    """Without a link: the form that mails one. With one: the new password's form."""
    if "token" in request.query_params or LINK_COOKIE in request.cookies:
        return await _set_password(
            portal, request, purpose="reset", document="reset_password", field="resetPassword"
        )
    slug = request.path_params["account"]
    async with portal.runtime.sessions() as session:
        branding = await public_branding(portal, request, session)
        if branding is None or not branding.get("passwordLoginEnabled"):
            return portal.not_found(branding)
        if request.method == "GET":
            return public_page(portal, request, "request_reset.html", branding, sent=False)
        form = await public_form(portal, request)
        if form is None:
            return portal.forbidden()
        answer = await portal.run(
            request,
            session,
            Anonymous(),
            "request_reset",
            {"account": slug, "email": form.get("email", "")},
        )
    if answer.failures:
        return public_page(
            portal,
            request,
            "request_reset.html",
            branding,
            status_code=400,
            sent=False,
            error=first_message(answer),
        )
    return public_page(portal, request, "request_reset.html", branding, sent=True)


async def register(portal: Portal, request: Request) -> Response:
    """Registration where the account enables it (``registerClient``): the confirmation
    link it mails opens the portal (``verify-email``)."""
    slug = request.path_params["account"]
    async with portal.runtime.sessions() as session:
        branding = await public_branding(portal, request, session)
        if branding is None or not branding.get("registrationEnabled"):
            return portal.not_found(branding)
        if request.method == "GET":
            return public_page(portal, request, "register.html", branding, sent=False, form=None)
        form = await public_form(portal, request)
        if form is None:
            return portal.forbidden()
        details = {
            "email": form.get("email", "").strip(),
            "firstName": form.get("first_name", "").strip(),
            "lastName": form.get("last_name", "").strip(),
            "company": form.get("company", "").strip() or None,
        }
        answer = await portal.run(
            request, session, Anonymous(), "register", {"account": slug, "input": details}
        )
    if answer.failures:
        return public_page(
            portal,
            request,
            "register.html",
            branding,
            status_code=400,
            sent=False,
            form=form,
            error=first_message(answer),
        )
    return public_page(portal, request, "register.html", branding, sent=True, form=None)


ROUTES: list[Page] = [
    Page("/accept-invite", accept_invite, BOTH),
    Page("/reset-password", reset_password, BOTH),
    Page("/register", register, BOTH),
]
TABS: list[Tab] = []
