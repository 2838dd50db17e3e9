"""The portal's routes under ``/portal/<account>/``.

A visit with a link's token (``dashboard``, ``open``, ``sign-in``, ``verify-email``)
exchanges it for a contact session through ``redeemPortalLink``, keeps the session in
the cookie and answers a 303 to the same page without the token. Every other page reads
the cookie's session as the API reads a bearer token (revoked, expired, archived client,
portal off: signed out at once) and fills its template from its document run as that
contact. Every form carries a CSRF token; a POST without a valid one is refused (403).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from auth.principals import Anonymous, ContactPrincipal, Principal
from models.accounts import Account
from schema.registry import SchemaRegistry
from server.portal_web.documents import Answer, Documents
from server.portal_web.rendering import render
from server.portal_web.security import (
    CSRF_FIELD,
    SEED_COOKIE,
    SESSION_COOKIE,
    STRIPE_JS,
    CsrfTokens,
    clear_session_cookie,
    new_seed,
    secure_headers,
    set_seed_cookie,
    set_session_cookie,
)
from services import sessions
from services.errors import Unauthenticated
from services.mail.branding import Branding
from services.runtime import Runtime

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"portal.css": "text/css", "pay.js": "text/javascript"}

NAV = (
    ("Dashboard", "dashboard", "dashboard"),
    ("Invoices", "invoices", "invoices"),
    ("Quotes", "quotes", "quotes"),
    ("Payments", "payments", "payments"),
)
"""(label, path, document): a tab shows where its document exists for the visitor."""

INVOICE_FILTERS: dict[str, list[str] | None] = {
    "outstanding": ["SENT", "VIEWED", "PARTIAL"],
    "paid": ["PAID"],
    "all": None,
}
_UUID = re.compile(r"^[0-9a-fA-F-]{32,36}$")


@dataclass(slots=True)
class Visit:
    """A signed-in request: the contact's principal, its database session, the CSRF token
    for its forms."""

    request: Request
    slug: str
    session: AsyncSession
    principal: ContactPrincipal
    csrf: str

    @property
    def holder(self) -> str:
        return f"session:{self.principal.session_id.hex}"


class PortalWeb:
    def __init__(self, runtime: Runtime, registry: SchemaRegistry) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.documents = Documents(runtime, registry)
        self.csrf = CsrfTokens(runtime.settings.secret_key.get_secret_value())

    # -- plumbing ---------------------------------------------------------------------

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

    async def _account(self, session: AsyncSession, slug: str) -> Account | None:
        account = (
            await session.exec(select(Account).where(Account.slug == slug.strip().lower()))
        ).one_or_none()
        return account if account is not None and account.portal_enabled else None

    def _address(self, request: Request) -> str:
        return request.client.host if request.client else "unknown"

    async def _run(
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
            client_address=self._address(request),
            request=request,
        )

    async def _visit(self, request: Request, session: AsyncSession) -> Visit | Response:
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
        account = await self._account(session, slug)
        if (
            not isinstance(principal, ContactPrincipal)
            or account is None
            or principal.account_id != account.id
        ):
            return self.signed_out(slug, notice="signed-out")
        visit = Visit(request, slug, session, principal, csrf="")
        visit.csrf = self.csrf.issue(visit.holder)
        return visit

    async def _form(self, request: Request, holder: str) -> dict[str, str] | None:
        """The POSTed form, or None when its CSRF token is missing or not ``holder``'s."""
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        if not self.csrf.check(fields.get(CSRF_FIELD), holder):
            return None
        return fields

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

    async def _layout(self, visit: Visit) -> dict[str, Any]:
        answer = await self._run(
            visit.request, visit.session, visit.principal, "layout", {"account": visit.slug}
        )
        data = answer.data or {}
        viewer = data.get("viewer") or {}
        nav = [
            {"label": label, "href": self.url(visit.slug, path), "key": path}
            for label, path, name in NAV
            if self.documents.exists(visit.principal, name)
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
        }

    async def _render_page(
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
        context = await self._layout(visit)
        context.update(data=data, current=current, notice=visit.request.query_params.get("notice"))
        context.update(extra)
        return render(template, context, status_code=status_code, stripe=stripe)

    async def _page(
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
        the fields of each of ``parts`` (documents of their own) that exist for them."""
        async with self.runtime.sessions() as session:
            visit = await self._visit(request, session)
            if isinstance(visit, Response):
                return visit
            if not self.documents.exists(visit.principal, name):
                return self.not_found()
            answer = await self._run(request, session, visit.principal, name, variables)
            if "UNAUTHENTICATED" in answer.codes:
                return self.signed_out(visit.slug, notice="signed-out")
            if answer.data is None or answer.failures:
                return self.not_found()
            for part in parts:
                if self.documents.exists(visit.principal, part):
                    extra_answer = await self._run(request, session, visit.principal, part)
                    merge(answer.data, extra_answer.data or {})
            return await self._render_page(
                visit, f"{name}.html", answer.data, current=current, **extra
            )

    async def _action(
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
            visit = await self._visit(request, session)
            if isinstance(visit, Response):
                return visit
            form = await self._form(request, visit.holder)
            if form is None:
                return self.forbidden()
            if not self.documents.exists(visit.principal, name):
                return self.not_found()
            answer = await self._run(request, session, visit.principal, name, variables(form))
            if "UNAUTHENTICATED" in answer.codes:
                return self.signed_out(visit.slug, notice="signed-out")
            if answer.data is None or answer.failures:
                return await failed(visit, answer)
            return await done(visit, answer.data)

    # -- signing in -------------------------------------------------------------------

    async def _public(self, request: Request, session: AsyncSession) -> dict[str, Any] | None:
        slug = request.path_params["account"]
        if await self._account(session, slug) is None:
            return None
        answer = await self._run(request, session, Anonymous(), "sign_in", {"account": slug})
        portal: dict[str, Any] | None = (answer.data or {}).get("portal")
        return portal

    def _sign_in_page(
        self,
        request: Request,
        portal: dict[str, Any],
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
                "portal": portal,
                "csrf": self.csrf.issue(f"seed:{seed}"),
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
        set_seed_cookie(response, self.settings, slug=slug, seed=seed)
        return response

    async def sign_in(self, request: Request) -> Response:
        if request.method == "GET" and "token" in request.query_params:
            return await self._redeem(request)
        async with self.runtime.sessions() as session:
            portal = await self._public(request, session)
            if portal is None:
                return self.not_found()
            if request.method == "GET":
                return self._sign_in_page(request, portal)
            seed = request.cookies.get(SEED_COOKIE) or ""
            form = await self._form(request, f"seed:{seed}") if seed else None
            if form is None:
                return self.forbidden()
            answer = await self._run(
                request,
                session,
                Anonymous(),
                "request_link",
                {"account": request.path_params["account"], "email": form.get("email", "")},
            )
            if answer.failures:
                message = answer.failures[0].message
                return self._sign_in_page(request, portal, status_code=400, error=message)
            return self._sign_in_page(request, portal, sent=True)

    async def _redeem(self, request: Request) -> Response:
        """Exchange the link's token for a session cookie; 303 to the page without it."""
        slug = request.path_params["account"]
        token = request.query_params["token"]
        async with self.runtime.sessions() as session:
            if await self._account(session, slug) is None:
                return self.not_found()
            answer = await self._run(
                request, session, Anonymous(), "redeem", {"token": token, "account": slug}
            )
        payload = (answer.data or {}).get("redeemPortalLink")
        if payload is None or answer.failures:
            response = self.redirect(self.url(slug, "sign-in", notice="link-failed"))
            clear_session_cookie(response, self.settings, slug=slug)
            return response
        expires = datetime.fromisoformat(payload["expiresAt"])
        max_age = max(0, int((expires - datetime.now(UTC)).total_seconds()))
        response = self.redirect(self._landing(slug, request, payload))
        set_session_cookie(
            response, self.settings, slug=slug, token=payload["token"], max_age=max_age
        )
        return response

    def _landing(self, slug: str, request: Request, payload: dict[str, Any]) -> str:
        subject, subject_id = payload.get("subjectType"), payload.get("subjectId")
        if subject == "invoice" and subject_id:
            return self.url(slug, f"invoices/{subject_id}")
        if subject == "quote" and subject_id:
            return self.url(slug, f"quotes/{subject_id}")
        path = request.url.path.removeprefix(f"/portal/{slug}/")
        return self.url(slug, "dashboard" if path in ("sign-in", "open", "verify-email") else path)

    async def view_as(self, request: Request) -> Response:
        """A staff user's read-only "view as client" token (``viewAsContact``) as a cookie."""
        slug = request.path_params["account"]
        token = request.query_params.get("token", "")
        async with self.runtime.sessions() as session:
            account = await self._account(session, slug)
            try:
                principal = await sessions.authenticate(
                    session=session,
                    signer=self.runtime.signer,
                    token=token,
                    max_age_seconds=self.settings.session_ttl_hours * 3600,
                )
            except Unauthenticated:
                return self.signed_out(slug, notice="link-failed")
        if (
            account is None
            or not isinstance(principal, ContactPrincipal)
            or not principal.read_only
            or principal.account_id != account.id
        ):
            return self.signed_out(slug, notice="link-failed")
        response = self.redirect(self.url(slug))
        set_session_cookie(
            response,
            self.settings,
            slug=slug,
            token=token,
            max_age=self.settings.session_ttl_hours * 3600,
        )
        return response

    async def sign_out(self, request: Request) -> Response:
        async with self.runtime.sessions() as session:
            visit = await self._visit(request, session)
            if isinstance(visit, Response):
                return visit
            if await self._form(request, visit.holder) is None:
                return self.forbidden()
            await self._run(request, session, visit.principal, "sign_out")
        return self.signed_out(visit.slug, notice="signed-out")

    async def unsubscribe(self, request: Request) -> Response:
        async with self.runtime.sessions() as session:
            portal = await self._public(request, session)
            if portal is None:
                return self.not_found()
            slug = request.path_params["account"]
            seed = request.cookies.get(SEED_COOKIE) or new_seed()
            context: dict[str, Any] = {
                "portal": portal,
                "csrf": self.csrf.issue(f"seed:{seed}"),
                "csrf_field": CSRF_FIELD,
                "base": f"/portal/{slug}",
                "nav": [],
                "read_only": False,
                "token": request.query_params.get("token", ""),
                "done": False,
                "error": None,
            }
            if request.method == "POST":
                form = await self._form(request, f"seed:{seed}")
                if form is None:
                    return self.forbidden()
                answer = await self._run(
                    request, session, Anonymous(), "unsubscribe", {"token": form.get("token", "")}
                )
                context["done"] = not answer.failures
                context["error"] = answer.failures[0].message if answer.failures else None
                context["token"] = form.get("token", "")
            response = render("unsubscribe.html", context)
            set_seed_cookie(response, self.settings, slug=slug, seed=seed)
            return response

    # -- pages ------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return self.redirect(self.url(request.path_params["account"]))

    async def dashboard(self, request: Request) -> Response:
        if "token" in request.query_params:
            return await self._redeem(request)
        return await self._page(
            request,
            "dashboard",
            current="dashboard",
            parts=(
                "dashboard_client",
                "dashboard_invoices",
                "dashboard_payments",
                "dashboard_quotes",
            ),
        )

    async def open_link(self, request: Request) -> Response:
        if "token" in request.query_params:
            return await self._redeem(request)
        return self.redirect(self.url(request.path_params["account"]))

    async def invoices(self, request: Request) -> Response:
        shown = request.query_params.get("status", "outstanding")
        if shown not in INVOICE_FILTERS:
            shown = "outstanding"
        variables: dict[str, Any] = {"status": INVOICE_FILTERS[shown]}
        if after := request.query_params.get("after"):
            variables["after"] = after
        return await self._page(
            request,
            "invoices",
            current="invoices",
            variables=variables,
            shown=shown,
            filters=list(INVOICE_FILTERS),
        )

    def _id(self, request: Request) -> str | None:
        value = str(request.path_params["id"])
        return value if _UUID.fullmatch(value) else None

    async def invoice(self, request: Request) -> Response:
        invoice_id = self._id(request)
        if invoice_id is None:
            return self.not_found()
        return await self._page(
            request, "invoice", current="invoices", variables={"id": invoice_id}, error=None
        )

    async def pay(self, request: Request) -> Response:
        invoice_id = self._id(request)
        if invoice_id is None:
            return self.not_found()

        async def done(visit: Visit, data: dict[str, Any]) -> Response:
            return await self._render_page(
                visit,
                "pay.html",
                data,
                current="invoices",
                stripe=True,
                stripe_js=f"{STRIPE_JS}/v3/",
                invoice_id=invoice_id,
                return_url=str(request.base_url).rstrip("/")
                + self.url(visit.slug, f"invoices/{invoice_id}", notice="paying"),
            )

        async def failed(visit: Visit, answer: Answer) -> Response:
            return await self._invoice_with_error(visit, invoice_id, answer)

        return await self._action(
            request, "pay", lambda _form: {"invoiceIds": [invoice_id]}, done=done, failed=failed
        )

    async def _invoice_with_error(self, visit: Visit, invoice_id: str, answer: Answer) -> Response:
        if "NOT_FOUND" in answer.codes:
            return self.not_found()
        shown = await self._run(
            visit.request, visit.session, visit.principal, "invoice", {"id": invoice_id}
        )
        if shown.data is None:
            return self.not_found()
        message = answer.failures[0].message if answer.failures else "That did not work."
        return await self._render_page(
            visit, "invoice.html", shown.data, current="invoices", status_code=400, error=message
        )

    async def quotes(self, request: Request) -> Response:
        return await self._page(request, "quotes", current="quotes", variables={})

    async def quote(self, request: Request) -> Response:
        quote_id = self._id(request)
        if quote_id is None:
            return self.not_found()
        return await self._page(
            request, "quote", current="quotes", variables={"id": quote_id}, error=None
        )

    async def _quote_action(
        self, request: Request, name: str, variables: Callable[[dict[str, str]], dict[str, Any]]
    ) -> Response:
        quote_id = self._id(request)
        if quote_id is None:
            return self.not_found()
        notice = "approved" if name == "approve_quote" else "declined"

        async def done(visit: Visit, _data: dict[str, Any]) -> Response:
            return self.redirect(self.url(visit.slug, f"quotes/{quote_id}", notice=notice))

        async def failed(visit: Visit, answer: Answer) -> Response:
            if "NOT_FOUND" in answer.codes:
                return self.not_found()
            shown = await self._run(
                visit.request, visit.session, visit.principal, "quote", {"id": quote_id}
            )
            if shown.data is None:
                return self.not_found()
            message = answer.failures[0].message if answer.failures else "That did not work."
            return await self._render_page(
                visit, "quote.html", shown.data, current="quotes", status_code=400, error=message
            )

        return await self._action(
            request,
            name,
            lambda form: {"id": quote_id, **variables(form)},
            done=done,
            failed=failed,
        )

    async def approve_quote(self, request: Request) -> Response:
        def variables(form: dict[str, str]) -> dict[str, Any]:
            return {
                "input": {
                    "acceptTerms": form.get("accept_terms") == "yes",
                    "poNumber": form.get("po_number") or None,
                    "signatureName": form.get("signature_name") or None,
                }
            }

        return await self._quote_action(request, "approve_quote", variables)

    async def decline_quote(self, request: Request) -> Response:
        return await self._quote_action(
            request, "decline_quote", lambda form: {"reason": form.get("reason") or None}
        )

    async def payments(self, request: Request) -> Response:
        variables: dict[str, Any] = {}
        if after := request.query_params.get("after"):
            variables["after"] = after
        return await self._page(request, "payments", current="payments", variables=variables)

    async def theme(self, request: Request) -> Response:
        """The account's colours as CSS variables (no inline styles: the CSP forbids them)."""
        async with self.runtime.sessions() as session:
            account = await self._account(session, request.path_params["account"])
        branding = Branding.of(account)
        css = (
            ":root{"
            f"--primary:{branding.primary_color};"
            f"--on-primary:{branding.button_text_color};"
            f"--link:{branding.link_color};"
            "}\n"
        )
        response = Response(css, media_type="text/css")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-cache"
        return response


def merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    """Merge the data of another document into ``into`` (nested objects field by field)."""
    for key, value in more.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merge(current, value)
        else:
            into[key] = value


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return secure_headers(Response("Not found.", status_code=404, media_type="text/plain"))
    response = FileResponse(STATIC / name, media_type=media_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def portal_routes(runtime: Runtime, registry: SchemaRegistry) -> list[BaseRoute]:
    """``/portal/_static/<file>`` (no account slug starts with ``_``) and
    ``/portal/<account>/…``."""
    web = PortalWeb(runtime, registry)
    get, post, both = ["GET"], ["POST"], ["GET", "POST"]
    return [
        Route("/portal/_static/{name}", static_file, methods=get),
        Mount(
            "/portal/{account}",
            routes=[
                Route("/", web.home, methods=get),
                Route("/sign-in", web.sign_in, methods=both),
                Route("/sign-out", web.sign_out, methods=post),
                Route("/view-as", web.view_as, methods=get),
                Route("/unsubscribe", web.unsubscribe, methods=both),
                Route("/open", web.open_link, methods=get),
                Route("/verify-email", web.open_link, methods=get),
                Route("/dashboard", web.dashboard, methods=get),
                Route("/theme.css", web.theme, methods=get),
                Route("/invoices", web.invoices, methods=get),
                Route("/invoices/{id}", web.invoice, methods=get),
                Route("/invoices/{id}/pay", web.pay, methods=post),
                Route("/quotes", web.quotes, methods=get),
                Route("/quotes/{id}", web.quote, methods=get),
                Route("/quotes/{id}/approve", web.approve_quote, methods=post),
                Route("/quotes/{id}/decline", web.decline_quote, methods=post),
                Route("/payments", web.payments, methods=get),
            ],
        ),
    ]
