"""GraphiQL from this server's own files (``server/static/graphiql``: React 18.2.0 and
GraphiQL 3.8.3, vendored with their licenses), so it works offline and under a strict
Content-Security-Policy: no CDN, no inline script.

``GET /graphql`` from a browser gets the page; its scripts and styles are served under
``/graphiql/``. The page itself is a static shell: what it shows comes from introspection,
which follows ``PORTICO_INTROSPECTION`` (server.execution) with the headers typed in
GraphiQL's headers editor.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "graphiql"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # GraphiQL's editors set element styles; its fonts are data: URLs in its CSS
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",  # /graphql over HTTP and WebSocket (CSP 3: ws: same origin)
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


@cache
def _page() -> str:
    return (ASSETS / "index.html").read_text(encoding="utf-8")


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(
        _page(),
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def graphiql_assets() -> Mount:
    return Mount("/graphiql", app=StaticFiles(directory=ASSETS), name="graphiql")
