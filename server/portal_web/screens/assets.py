"""The portal's static files and the account's theme stylesheet."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from server.portal_web.base import GET, Page, Portal, Tab
from server.portal_web.security import secure_headers
from services.mail.branding import Branding

STATIC = Path(__file__).parent.parent / "static"
STATIC_FILES = {"portal.css": "text/css", "pay.js": "text/javascript"}


async def static_file(request: Request) -> Response:
    """``/portal/_static/<name>`` (outside any account: no slug starts with ``_``)."""
    name = request.path_params["name"]
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return secure_headers(Response("Not found.", status_code=404, media_type="text/plain"))
    response = FileResponse(STATIC / name, media_type=media_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


async def theme(portal: Portal, request: Request) -> Response:
    """The account's colours as CSS variables (no inline styles: the CSP forbids them)."""
    async with portal.runtime.sessions() as session:
        account = await portal.account(session, request.path_params["account"])
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


ROUTES: list[Page] = [Page("/theme.css", theme, GET)]
TABS: list[Tab] = []
