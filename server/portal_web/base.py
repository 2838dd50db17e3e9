"""What every portal screen shares: the signed-in :class:`Visit`, the :class:`Portal`
that reads the cookie's session, runs a page's document as the visitor and renders it
inside the layout, and the shape of a screen module's route table (:class:`Page`,
:class:`Tab`).

A screen module (``server/portal_web/screens/<family>.py``) exports ``ROUTES`` (its
pages under ``/portal/<account>/``) and ``TABS`` (its nav tabs); ``routes.py`` joins
them. A tab shows where its document exists for the visitor, so a tab whose module is
off for them is not drawn, and its page answers 404.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from auth.principals import Anonymous, ContactPrincipal, Principal
from models.accounts import Account
from schema.registry import SchemaRegistry
from server.portal_web.documents import Answer, Documents, Failure
from server.portal_web.rendering import render
from server.portal_web.security import (
    CSRF_FIELD,
    SEED_COOKIE,
    SESSION_COOKIE,
    CsrfTokens,
    clear_session_cookie,
    new_seed,
    secure_headers,
    set_seed_cookie,
    set_session_cookie,
)
from services import sessions
from services.errors import Unauthenticated
from services.runtime import Runtime

_UUID = re.compile(r"^[0-9a-fA-F-]{32,36}$")


@dataclass(frozen=True, slots=True)
class Tab:
    """A nav tab: shown where ``document`` exists for the visitor (and ``shown`` holds
    for the account, when given); tabs sort by ``order``."""

    label: str
    path: str
    document: str
    order: int
    shown: Callable[[Account], bool] | None = None


Endpoint = Callable[["Portal", Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Page:
    """One route under ``/portal/<account>``: its path, handler and methods."""

    path: str
    endpoint: Endpoint
    methods: tuple[str, ...] = ("GET",)


FREQUENCIES = {
    "WEEKLY": "Week",
    "TWO_WEEKS": "2 weeks",
    "MONTHLY": "Month",
    "TWO_MONTHS": "2 months",
    "THREE_MONTHS": "3 months",
    "SIX_MONTHS": "6 months",
    "YEARLY": "Year",
}


GET: tuple[str, ...] = ("GET",)
POST: tuple[str, ...] = ("POST",)
BOTH: tuple[str, ...] = ("GET", "POST")


@dataclass(slots=True)
class Visit:
    """A signed-in request: the contact's principal, its database session, the CSRF token
    for its forms."""

    request: Request
    slug: str
    session: AsyncSession
    principal: ContactPrincipal
    csrf: str
    account: Account | None = None

    @property
    def holder(self) -> str:
        return f"session:{self.principal.session_id.hex}"


def merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    """Merge the data of another document into ``into`` (nested objects field by field)."""
    for key, value in more.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merge(current, value)
        else:
            into[key] = value


def uuid_or_none(value: str) -> str | None:
    """``value`` when it looks like a UUID (an ID the API answers), else None."""
    return value if _UUID.fullmatch(value) else None


def path_id(request: Request) -> str | None:
    """The ``{id}`` path parameter when it looks like a UUID, else None (a 404)."""
    return uuid_or_none(str(request.path_params["id"]))


EXPLAINED = {
    "PAYMENTS_NOT_CONFIGURED": "Card payments are not set up for this portal yet.",
}
"""Error codes whose API message is written for developers, as the portal says them."""


class FormError(Exception):
    """What the visitor typed cannot be sent to the API (not a number, say): raised by
    a form's ``variables``, the page the form was posted from shows ``message`` (400)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def first_message(answer: Answer) -> str:
    """The first error of ``answer`` as the visitor reads it."""
    if not answer.failures:
        return "That did not work."
    failure = answer.failures[0]
    return EXPLAINED.get(failure.code, failure.message)


class Portal:
    """The plumbing the screens share (one per app: its document cache, CSRF signer)."""

    def __init__(
        self, runtime: Runtime, registry: SchemaRegistry, *, tabs: Sequence[Tab] = ()
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.documents = Documents(runtime, registry)
        self.csrf = CsrfTokens(runtime.settings.secret_key.get_secret_value())
        self.tabs = sorted(tabs, key=lambda tab: tab.order)

    # -- responses ----------------------------------------------------------------------

    def url(self, slug: str, path: str = "dashboard", **query: str) -> str:
        suffix = f"?{urlencode(query)}" if query else ""
        return f"/portal/{slug}/{path}{suffix}"

    def redirect(self, location: str) -> Response:
        return secure_headers(RedirectResponse(location, status_code=303))

    def signed_out(self, slug: str, *, notice: str | None = None) -> Response:
        query = {"notice": notice} if notice else {}
        response = self.redirect(self.url(slug, "sign-in", **query))
        clear_session_cookie(response, self.settings, slug=slug)
        return response

    def forbidden(self) -> Response:
        return render(
            "error.html",
            {
                "title": "Request refused",
                "message": "This form has expired or did not come from this portal. "
                "Go back, reload the page and try again.",
                "portal": None,
            },
            status_code=403,
        )

    def not_found(self, portal: dict[str, Any] | None = None) -> Response:
        return render(
            "error.html",
            {"title": "Not found", "message": "There is nothing here.", "portal": portal},
            status_code=404,
        )

    async def unknown_page(self, request: Request) -> Response:
        """A path under ``/portal/<account>/`` that no screen has: 404 in the account's
        branding with a way back (the dashboard with a session cookie, else sign-in);
        where the account has no portal (unknown, or its portal off) the plain 404, the
        same either way, so it tells nobody whether the account exists."""
        async with self.runtime.sessions() as session:
            branding = await public_branding(self, request, session)
        if branding is None:
            return self.not_found()
        slug = request.path_params["account"]
        signed_in = SESSION_COOKIE in request.cookies
        back = (
            {"href": self.url(slug), "label": "Back to your dashboard"}
            if signed_in
            else {"href": self.url(slug, "sign-in"), "label": "Sign in to your portal"}
        )
        return render(
            "error.html",
            {
                "title": "Page not found",
                "message": "There is no such page in this portal.",
                "portal": branding,
                "base": f"/portal/{slug}",
                "back": back,
            },
            status_code=404,
        )

    # -- the visitor --------------------------------------------------------------------

    async def account(self, session: AsyncSession, slug: str) -> Account | None:
        """The account behind ``slug`` when its portal is on."""
        account = (
            await session.exec(select(Account).where(Account.slug == slug.strip().lower()))
        ).one_or_none()
        return account if account is not None and account.portal_enabled else None

    def address(self, request: Request) -> str:
        return request.client.host if request.client else "unknown"

    async def run(
        self,
        request: Request,
        session: AsyncSession,
        principal: Principal,
        name: str,
        variables: dict[str, Any] | None = None,
    ) -> Answer:
        return await self.documents.run(
            session,
            principal,
            name,
            variables,
            client_address=self.address(request),
            request=request,
        )

    async def visit(self, request: Request, session: AsyncSession) -> Visit | Response:
        """The cookie's session as a :class:`Visit`, or the response that signs out."""
        slug = request.path_params["account"]
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return self.redirect(self.url(slug, "sign-in"))
        try:
            principal = await sessions.authenticate(
                session=session,
                signer=self.runtime.signer,
                token=token,
                max_age_seconds=self.settings.session_ttl_hours * 3600,
            )
        except Unauthenticated:
            return self.signed_out(slug, notice="signed-out")
        account = await self.account(session, slug)
        if (
            not isinstance(principal, ContactPrincipal)
            or account is None
            or principal.account_id != account.id
        ):
            return self.signed_out(slug, notice="signed-out")
        visit = Visit(request, slug, session, principal, csrf="", account=account)
        visit.csrf = self.csrf.issue(visit.holder)
        return visit

    async def form(self, request: Request, holder: str) -> dict[str, str] | None:
        """The POSTed form, or None when its CSRF token is missing or not ``holder``'s."""
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        if not self.csrf.check(fields.get(CSRF_FIELD), holder):
            return None
        return fields

    # -- pages --------------------------------------------------------------------------

    async def layout(self, visit: Visit) -> dict[str, Any]:
        answer = await self.run(
            visit.request, visit.session, visit.principal, "layout", {"account": visit.slug}
        )
        data = answer.data or {}
        viewer = data.get("viewer") or {}
        nav = [
            {"label": tab.label, "href": self.url(visit.slug, tab.path), "key": tab.path}
            for tab in self.tabs
            if self.documents.exists(visit.principal, tab.document)
            and (tab.shown is None or (visit.account is not None and tab.shown(visit.account)))
        ]
        return {
            "portal": data.get("portal"),
            "viewer": viewer,
            "read_only": visit.principal.read_only,
            "actions": set((viewer.get("capabilities") or {}).get("actions") or ()),
            "nav": nav,
            "csrf": visit.csrf,
            "csrf_field": CSRF_FIELD,
            "slug": visit.slug,
            "base": f"/portal/{visit.slug}",
            "timezone": visit.account.timezone if visit.account is not None else None,
        }

    async def render_page(
        self,
        visit: Visit,
        template: str,
        data: dict[str, Any],
        *,
        current: str,
        status_code: int = 200,
        stripe: bool = False,
        **extra: Any,
    ) -> Response:
        """``template`` inside the layout, with ``data`` and ``extra`` in its context."""
        context = await self.layout(visit)
        context.update(data=data, current=current, notice=visit.request.query_params.get("notice"))
        context.update(extra)
        return render(template, context, status_code=status_code, stripe=stripe)

    async def page(
        self,
        request: Request,
        name: str,
        *,
        current: str,
        variables: dict[str, Any] | None = None,
        parts: tuple[str, ...] = (),
        **extra: Any,
    ) -> Response:
        """A signed-in page: its document run as the visitor into ``<name>.html``, with
        the fields of each of ``parts`` (documents of their own, given the same
        variables) that exist for them."""
        async with self.runtime.sessions() as session:
            visit = await self.visit(request, session)
            if isinstance(visit, Response):
                return visit
            if not self.documents.exists(visit.principal, name):
                return self.not_found()
            answer = await self.run(request, session, visit.principal, name, variables)
            if "UNAUTHENTICATED" in answer.codes:
                return self.signed_out(visit.slug, notice="signed-out")
            if answer.data is None or answer.failures:
                return self.not_found()
            for part in parts:
                if self.documents.exists(visit.principal, part):
                    extra_answer = await self.run(
                        request, session, visit.principal, part, variables
                    )
                    merge(answer.data, extra_answer.data or {})
            return await self.render_page(
                visit, f"{name}.html", answer.data, current=current, **extra
            )

    async def action(
        self,
        request: Request,
        name: str,
        variables: Callable[[dict[str, str]], dict[str, Any]],
        *,
        done: Callable[[Visit, dict[str, Any]], Awaitable[Response]],
        failed: Callable[[Visit, Answer], Awaitable[Response]],
    ) -> Response:
        """A signed-in form POST: CSRF checked, then the mutation ``name`` as the visitor."""
        async with self.runtime.sessions() as session:
            visit = await self.visit(request, session)
            if isinstance(visit, Response):
                return visit
            form = await self.form(request, visit.holder)
            if form is None:
                return self.forbidden()
            if not self.documents.exists(visit.principal, name):
                return self.not_found()
            try:
                given = variables(form)
            except FormError as error:
                refused = Failure("BAD_USER_INPUT", error.message, error.field)
                return await failed(visit, Answer(None, [refused]))
            answer = await self.run(request, session, visit.principal, name, given)
            if "UNAUTHENTICATED" in answer.codes:
                return self.signed_out(visit.slug, notice="signed-out")
            if answer.data is None or answer.failures:
                return await failed(visit, answer)
            return await done(visit, answer.data)

    async def shown_with_error(
        self,
        visit: Visit,
        answer: Answer,
        *,
        document: str,
        variables: dict[str, Any],
        template: str,
        current: str,
        parts: Sequence[str] = (),
    ) -> Response:
        """The page a failed form was posted from, again, with what went wrong (400); 404
        when its record is not the visitor's. ``parts``: further documents merged in where
        the visitor's schema has them."""
        if "NOT_FOUND" in answer.codes:
            return self.not_found()
        shown = await self.run(visit.request, visit.session, visit.principal, document, variables)
        if shown.data is None:
            return self.not_found()
        for part in parts:
            if self.documents.exists(visit.principal, part):
                more = await self.run(
                    visit.request, visit.session, visit.principal, part, variables
                )
                merge(shown.data, more.data or {})
        return await self.render_page(
            visit,
            template,
            shown.data,
            current=current,
            status_code=400,
            error=first_message(answer),
        )

    # -- links --------------------------------------------------------------------------

    async def redeem(self, request: Request) -> Response:
        """Exchange the link's token for a session cookie; 303 to the page without it."""
        slug = request.path_params["account"]
        token = request.query_params["token"]
        async with self.runtime.sessions() as session:
            if await self.account(session, slug) is None:
                return self.not_found()
            answer = await self.run(
                request, session, Anonymous(), "redeem", {"token": token, "account": slug}
            )
        payload = (answer.data or {}).get("redeemPortalLink")
        if payload is None or answer.failures:
            response = self.redirect(self.url(slug, "sign-in", notice="link-failed"))
            clear_session_cookie(response, self.settings, slug=slug)
            return response
        expires = datetime.fromisoformat(payload["expiresAt"])
        max_age = max(0, int((expires - datetime.now(UTC)).total_seconds()))
        response = self.redirect(self.landing(slug, request, payload))
        set_session_cookie(
            response, self.settings, slug=slug, token=payload["token"], max_age=max_age
        )
        return response

    def landing(self, slug: str, request: Request, payload: dict[str, Any]) -> str:
        """Where a redeemed link lands: its invoice or quote, else the page it named."""
        subject, subject_id = payload.get("subjectType"), payload.get("subjectId")
        if subject == "invoice" and subject_id:
            return self.url(slug, f"invoices/{subject_id}")
        if subject == "quote" and subject_id:
            return self.url(slug, f"quotes/{subject_id}")
        path = request.url.path.removeprefix(f"/portal/{slug}/")
        return self.url(slug, "dashboard" if path in ("sign-in", "open", "verify-email") else path)


# -- public pages (before sign-in) ------------------------------------------------------


async def public_branding(
    portal: Portal, request: Request, session: AsyncSession
) -> dict[str, Any] | None:
    """The account's public branding and portal options (``sign_in.graphql``), None when
    its portal is off."""
    slug = request.path_params["account"]
    if await portal.account(session, slug) is None:
        return None
    answer = await portal.run(request, session, Anonymous(), "sign_in", {"account": slug})
    branding: dict[str, Any] | None = (answer.data or {}).get("portal")
    return branding


def public_page(
    portal: Portal,
    request: Request,
    template: str,
    branding: dict[str, Any],
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    """A page before sign-in: its forms' CSRF token is tied to the seed cookie."""
    slug = request.path_params["account"]
    seed = request.cookies.get(SEED_COOKIE) or new_seed()
    context = {
        "portal": branding,
        "csrf": portal.csrf.issue(f"seed:{seed}"),
        "csrf_field": CSRF_FIELD,
        "base": f"/portal/{slug}",
        "notice": request.query_params.get("notice"),
        "nav": [],
        "read_only": False,
        "error": None,
        **extra,
    }
    response = render(template, context, status_code=status_code)
    set_seed_cookie(response, portal.settings, slug=slug, seed=seed)
    return response


async def public_form(portal: Portal, request: Request) -> dict[str, str] | None:
    """A POSTed form before sign-in, None when its CSRF token is not the seed cookie's."""
    seed = request.cookies.get(SEED_COOKIE) or ""
    return await portal.form(request, f"seed:{seed}") if seed else None


def signed_in(portal: Portal, slug: str, payload: dict[str, Any], location: str) -> Response:
    """A 303 to ``location`` that keeps the new session (a ``PortalSessionPayload``)."""
    expires = datetime.fromisoformat(payload["expiresAt"])
    max_age = max(0, int((expires - datetime.now(UTC)).total_seconds()))
    response = portal.redirect(location)
    set_session_cookie(
        response, portal.settings, slug=slug, token=payload["token"], max_age=max_age
    )
    return response
