"""The Starlette application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from schema.registry import SchemaRegistry, SchemaRouter
from server.branding import branding_route
from server.downloads import download_route, pdf_render_limiter
from server.graphiql import graphiql_assets
from server.graphql_view import UPLOAD_PREFLIGHT_HEADERS, PorticoGraphQL
from server.limits import BodySizeLimit
from server.migrate import NOT_MIGRATED_HINT, MigrationCheck
from server.portal_web.routes import portal_routes
from server.proxies import proxy_headers_middleware
from server.request_id import REQUEST_ID_HEADER, RequestId
from server.scheduler import RecurringScheduler
from server.stripe_webhooks import stripe_webhook_route
from server.warmup import warm_up
from server.webhooks import webhook_dispatcher
from services.config import Settings
from services.db import create_engine
from services.planner_stats import refresh_planner_statistics
from services.runtime import Runtime

log = structlog.get_logger("portico.app")


class GraphQLRoute:
    """HTTP requests to ``/graphql`` handed to the GraphQL view at once, past Starlette's
    exception middleware and router, which decide nothing for them: the route takes
    every method (the view answers the ones it does not serve), and the view answers
    every error itself, raising nothing the exception middleware would handle. The
    scope gets what the router would have put in it. The innermost middleware, so
    every other one still sees the request (a WebSocket, and a path under a
    ``root_path``, take the router's way)."""

    def __init__(self, app: ASGIApp, *, route: Route) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql" and not scope.get("root_path"):
            scope["route"] = self.route
            scope["endpoint"] = self.route.endpoint
            scope["path_params"] = {}
            await self.route.app(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build_runtime(settings: Settings) -> Runtime:
    return Runtime.build(settings, create_engine(settings.database_url))


async def _refresh_planner_statistics(runtime: Runtime) -> None:
    """SQLite's ``PRAGMA optimize`` at start-up (services.planner_stats); a database that
    cannot be reached yet does not stop the server (``/healthz`` tells)."""
    try:
        async with runtime.engine.connect() as connection:
            await connection.run_sync(refresh_planner_statistics, after_migration=False)
    except Exception:
        log.warning("planner_stats.refresh_failed", exc_info=True)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Starlette:
    """The ASGI app. Tests pass their own ``runtime`` (database, settings)."""
    if runtime is None:
        from server.settings import get_settings

        runtime = build_runtime(settings or get_settings())
    registry = SchemaRegistry.from_settings(runtime.settings)
    graphql = PorticoGraphQL(runtime=runtime, schema=SchemaRouter(registry))

    migrations = MigrationCheck()  # once the database is seen migrated: SELECT 1 only

    async def healthz(_request: Request) -> JSONResponse:
        try:
            async with runtime.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                migrated = await migrations.check(connection)
        except Exception:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        if not migrated:
            return JSONResponse(
                {"status": "error", "database": "not migrated", "hint": NOT_MIGRATED_HINT},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    scheduler = (
        RecurringScheduler.from_runtime(runtime) if runtime.settings.scheduler_enabled else None
    )

    webhooks = (
        webhook_dispatcher(runtime, registry)
        if runtime.settings.webhook_dispatcher_enabled
        else None
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await runtime.hub.start()
        await runtime.events.start()  # numbers what was committed while no server ran
        if scheduler is not None:
            await scheduler.start()
        if webhooks is not None:
            await webhooks.start()  # deliveries left due by a restart go out now
        runtime.mailer.kick()  # mail left queued by a restart
        await _refresh_planner_statistics(runtime)
        warm_up(registry, gc_thresholds=runtime.settings.gc_thresholds)
        try:
            yield
        finally:
            if scheduler is not None:
                await scheduler.stop()
            if webhooks is not None:
                await webhooks.stop()
            await runtime.background.drain()
            await runtime.events.stop()
            await runtime.hub.stop()
            await runtime.mailer.close()
            await graphql.persisted.close()
            await runtime.engine.dispose()

    # Outermost first: every log line, whatever answers, carries the request id; the
    # client address is settled before anything reads it; and a refused body still gets
    # the CORS headers a browser needs to read the answer.
    middleware = [Middleware(RequestId)]
    middleware.extend(proxy_headers_middleware(runtime.settings.trusted_proxies))
    if runtime.settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=runtime.settings.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    REQUEST_ID_HEADER,
                    *UPLOAD_PREFLIGHT_HEADERS,
                ],
                expose_headers=[REQUEST_ID_HEADER],
                allow_credentials=False,
            )
        )
    middleware.append(
        Middleware(
            BodySizeLimit,
            max_body_bytes=runtime.settings.max_body_bytes,
            max_upload_bytes=runtime.settings.upload_max_bytes,
        )
    )
    graphql_route = Route("/graphql", graphql)  # other methods: the view's JSON 405
    middleware.append(Middleware(GraphQLRoute, route=graphql_route))
    pdf_renders = pdf_render_limiter(runtime)
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            graphql_route,
            WebSocketRoute("/graphql", graphql),
            graphiql_assets(),
            download_route(runtime, pdf_renders),
            branding_route(runtime),
            stripe_webhook_route(runtime),
            *portal_routes(runtime, registry),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.schemas = registry
    app.state.pdf_renders = pdf_renders
    return app
