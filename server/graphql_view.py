"""``/graphql`` over HTTP (POST, GET, GraphiQL) and WebSocket (graphql-transport-ws and
graphql-ws), on Strawberry's ASGI view.

Each request gets its own database session and a principal from its bearer token
(``Authorization`` header; on a WebSocket, the ``connection_init`` payload). A bad token
is refused before any GraphQL runs: 401 on HTTP, connection rejected on a WebSocket.

Every error answer is GraphQL-shaped JSON with an ``extensions.code``: HTTP-level refusals
(server.http_errors), timeouts (server.execution), oversized results and Strawberry's own
WebSocket errors (server.encoding). The client address (for rate limits) is the
connection's peer, or what a trusted proxy says (``trusted_proxies``, see server.app).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import timedelta
from functools import lru_cache
from typing import Any, cast

import orjson
import structlog
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionResult

from auth.principals import (
    Anonymous,
    ContactPrincipal,
    PartnerPrincipal,
    Principal,
    StaffPrincipal,
)
from resolvers.context import Context
from schema.registry import SchemaRouter
from server.encoding import SharedPayloads, encode_result
from server.event_stream import InvoiceStreams
from server.execution import LimitedSchema, registered_documents_only
from server.graphiql import graphiql_page
from server.http_errors import (
    BAD_REQUEST,
    INTERNAL_SERVER_ERROR,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    PREFLIGHT_REQUIRED,
    UNSUPPORTED_MEDIA_TYPE,
    RequestRefused,
    error_response,
    refused_response,
)
from server.limits import BodyTooLarge
from server.media_types import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    response_media_type,
    status_before_execution,
)
from server.persisted_queries import (
    PERSISTED_QUERY_NOT_FOUND,
    PersistedQueryNotFound,
    check_hash,
    requested_hash,
    store_for,
)
from server.query_slots import QuerySlots, slots_for
from server.request_id import bind_principal
from server.ws_protocol import (
    DIRECT_FRAMES,
    ConnectionWriter,
    PorticoGraphQLWSHandler,
    PorticoTransportWSHandler,
)
from services import sessions
from services.errors import Unauthenticated
from services.event_log.direct import PUBLISHING
from services.runtime import Runtime

log = structlog.get_logger("portico.http")


UPLOAD_PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-portico-upload")
"""A multipart POST must carry one of these (any value). A browser sends a header of
its own only after a CORS preflight, which only the configured origins pass; a plain
HTML form, which could post multipart across sites, cannot set one (Strawberry's and
Apollo's advice against CSRF on uploads)."""

PENDING_PERSIST: ContextVar[tuple[str, str] | None] = ContextVar("pending_persist", default=None)
"""(hash, document) of the request's persisted query, stored once it validates."""

REGISTERED_ONLY: ContextVar[bool] = ContextVar("registered_only", default=False)
"""The caller runs the account's registered documents only (server.execution looks its
hash up there, not in the shared store)."""

ACCESS_REVOKED = 4401
"""WebSocket close code when the connection's credential is revoked (graphql-transport-ws
uses 4401 for "Unauthorized")."""


def credential_id(principal: Principal) -> uuid.UUID | None:
    """What revoking ends: the session, or the partner's API token."""
    if isinstance(principal, StaffPrincipal | ContactPrincipal):
        return principal.session_id
    if isinstance(principal, PartnerPrincipal):
        return principal.token_id
    return None


def bearer_token(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


_media_type_for = lru_cache(maxsize=256)(response_media_type)
""":func:`~server.media_types.response_media_type` of the ``Accept`` values seen lately
(clients send a handful, each request the same), not parsed again for every request."""

JSON_POST_CONTENT_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
"""The ``Content-Type`` values of the POSTs :meth:`PorticoGraphQL._run_json_post` answers
(any other goes through Strawberry's view, as every request did before)."""

_CONTENT_TYPES = {
    APPLICATION_JSON: (b"content-type", APPLICATION_JSON.encode("latin-1")),
    GRAPHQL_RESPONSE_JSON: (b"content-type", f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8".encode()),
}


class GraphQLAnswer(Response):
    """A GraphQL result's JSON answer, with its final headers from the start: what
    Strawberry's ``create_response`` and :meth:`PorticoGraphQL._handle_http` build
    between them (``Content-Length``, then the media type's ``Content-Type``), without
    the intermediate response and headers objects."""

    def __init__(self, body: bytes, status_code: int, media_type: str) -> None:
        self.status_code = status_code
        self.media_type = media_type
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-length", str(len(body)).encode("latin-1")),
            _CONTENT_TYPES[media_type],
        ]


def plain_request_data(body: bytes) -> GraphQLRequestData | None:
    """The request in a JSON body that is an object whose ``query``, ``variables`` and
    ``extensions`` have the types Strawberry's ``parse_http_body`` accepts; None for
    any other body (not JSON, not UTF-8, a batch, a member of the wrong type), which
    Strawberry's view then answers, refusal and all."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict:
        return None
    query, variables, extensions = data.get("query"), data.get("variables"), data.get("extensions")
    if not (
        (query is None or type(query) is str)
        and (variables is None or type(variables) is dict)
        and (extensions is None or type(extensions) is dict)
    ):
        return None
    return GraphQLRequestData(
        query=query,
        variables=variables,
        operation_name=data.get("operationName"),
        extensions=extensions,
        protocol="http",
    )


def unauthenticated_response(message: str) -> Response:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


class PorticoWebSocketAdapter(ASGIWebSocketAdapter):
    """Sends text frames (the protocols' messages are text), with every error coded and
    ``next`` payloads bounded by ``max_response_bytes``, all through the connection's
    :class:`~server.ws_protocol.ConnectionWriter` (which the event streams of
    :mod:`server.event_stream` write to as well)."""

    def __init__(self, view: Any, request: WebSocket, response: WebSocket) -> None:
        super().__init__(view, request, response)
        extensions = response.scope.get("extensions") or {}
        self.writer = ConnectionWriter(self._send_asgi, extensions.get(DIRECT_FRAMES))

    async def send_json(self, message: Mapping[str, object]) -> None:
        view = cast("PorticoGraphQL", self.view)
        max_bytes = view.runtime.settings.max_response_bytes
        encoded, payload = view.payloads.encode(message, max_bytes=max_bytes)
        if (publishing := PUBLISHING.get()) is not None and message.get("type") == "next":
            # this subscriber leads its group for the event: the others send the same
            # payload (services.event_log.direct), published before a slow socket waits
            publishing.publish(None if payload is None else payload.decode())
        await self.send_text(encoded.decode())

    async def send_text(self, text: str) -> None:
        try:
            await self.writer.send(text)
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error

    async def _send_asgi(self, text: str) -> None:
        await self.ws.send_text(text)


class PorticoGraphQL(GraphQL[Context, None]):
    websocket_adapter_class = PorticoWebSocketAdapter
    graphql_transport_ws_handler_class = PorticoTransportWSHandler
    graphql_ws_handler_class = PorticoGraphQLWSHandler

    def __init__(self, *, runtime: Runtime, schema: SchemaRouter, **kwargs: Any) -> None:
        # The router stands in for one schema: each operation runs on the caller's own,
        # within the execution timeout.
        limited = LimitedSchema(
            schema,
            timeout_seconds=runtime.settings.execution_timeout_seconds,
            max_tokens=runtime.settings.query_max_tokens,
            introspection=runtime.settings.introspection_for,
        )
        settings = runtime.settings
        kwargs.setdefault(
            "connection_init_wait_timeout", timedelta(seconds=settings.ws_init_timeout_seconds)
        )
        kwargs.setdefault("max_subscriptions_per_connection", settings.ws_max_subscriptions)
        kwargs.setdefault("multipart_uploads_enabled", True)
        super().__init__(schema=limited, **kwargs)  # type: ignore[arg-type]
        # A JSON POST is answered by _run_json_post, which knows neither streamed
        # transports (SSE, multipart subscriptions) nor incremental delivery.
        self.json_posts_direct = (
            not self._stream_transport_map
            and not limited.config.enable_experimental_incremental_execution
        )
        self.runtime = runtime
        self.registry = schema.registry
        self.streams = InvoiceStreams(runtime)
        self.payloads = SharedPayloads()
        self.query_slots = QuerySlots(slots_for(settings.database_url, settings.query_concurrency))
        self.persisted = store_for(
            redis_url=settings.redis_url,
            max_chars=settings.persisted_query_cache_chars,
            ttl_seconds=settings.persisted_query_ttl_seconds,
        )

    def decode_json(self, data: str | bytes) -> object:
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as error:
                raise RequestRefused(
                    400, BAD_REQUEST, "The request body is not valid UTF-8."
                ) from error
        return orjson.loads(data)  # orjson.JSONDecodeError is a json.JSONDecodeError

    def encode_json(self, data: object) -> bytes:
        return encode_result(data, max_bytes=self.runtime.settings.max_response_bytes)

    async def render_graphql_ide(self, request: Request) -> Response:
        """Portico's GraphiQL page (server.graphiql): local files only, under a strict CSP."""
        if self.runtime.settings.introspection_for == "off":
            return error_response(404, NOT_FOUND, "GraphiQL is off on this server.")
        return graphiql_page()

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """GraphiQL for a browser's GET with no operation in it (a persisted query's GET
        carries only ``extensions``)."""
        return super().should_render_graphql_ide(request) and not request.query_params.get(
            "extensions"
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        request.state.sub_response = sub_response
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """The response body; with ``application/graphql-response+json``, a request that
        failed before execution has no ``data`` and a 4xx status (server.media_types)."""
        body = await super().process_result(request, result)
        status = await self._settle(result, body, request.state.media_type)
        if status is not None:
            request.state.sub_response.status_code = status
        return body

    async def _settle(
        self, result: ExecutionResult, body: GraphQLHTTPResponse, media_type: str
    ) -> int | None:
        """Keep the request's persisted query once it ran; with
        ``application/graphql-response+json``, drop ``data`` from a result that failed
        before execution and return its 4xx status (None: the answer is a 200)."""
        status = status_before_execution(result)
        if status is None and (pending := PENDING_PERSIST.get()) is not None:
            await self.persisted.put(*pending)  # it parsed and validated: keep it
        if status is not None and media_type == GRAPHQL_RESPONSE_JSON:
            body.pop("data", None)
            return status
        return None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and content_type == "multipart/form-data":
            if not any(request.headers.get(name) for name in UPLOAD_PREFLIGHT_HEADERS):
                raise RequestRefused(
                    400,
                    PREFLIGHT_REQUIRED,
                    "File uploads need an `Apollo-Require-Preflight` or `X-Portico-Upload` header.",
                )
        elif request.method == "POST" and "application/json" not in content_type:
            raise RequestRefused(
                415,
                UNSUPPORTED_MEDIA_TYPE,
                "Send the GraphQL request as application/json (or multipart/form-data "
                "for file uploads).",
            )
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData):
            await self._resolve_persisted(data)
        return data

    async def _resolve_persisted(self, data: GraphQLRequestData) -> None:
        """Fill in the document of a persisted query, or check the hash it came with
        (server.persisted_queries)."""
        sha256 = requested_hash(data.extensions)
        if sha256 is None:
            return
        if REGISTERED_ONLY.get():  # the account's registered documents, not the shared store
            if data.query is not None:
                check_hash(sha256, data.query)
            return
        if data.query is None:
            data.query = await self.persisted.get(sha256)
            if data.query is None:
                raise PersistedQueryNotFound
            return
        check_hash(sha256, data.query)
        PENDING_PERSIST.set((sha256, data.query))

    async def _principal(self, context: Context, token: str | None) -> Principal:
        if token is None:
            return Anonymous()
        principal, holder = await sessions.identify(
            session=context.session,
            signer=self.runtime.signer,
            token=token,
            max_age_seconds=self.runtime.settings.session_ttl_hours * 3600,
        )
        if holder is not None and not isinstance(context.request, WebSocket):
            context.holder = holder  # one request: its loaders take the rows read here
        return principal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        address = client[0] if client else "unknown"
        async with self.runtime.sessions() as session:
            if scope["type"] == "http":
                request = Request(scope, receive=receive)
                context = Context(
                    self.runtime,
                    session,
                    client_address=address,
                    request=request,
                    schemas=self.registry,
                )
                try:
                    response = await self._handle_http(request, context)
                    await response(scope, receive, send)
                finally:
                    await request.close()  # an upload's spooled temporary files go now
            elif scope["type"] == "websocket":
                websocket = WebSocket(scope, receive=receive, send=send)
                context = Context(
                    self.runtime,
                    session,
                    client_address=address,
                    request=websocket,
                    schemas=self.registry,
                )
                try:
                    await self.run(websocket, context=context)
                finally:
                    if context.release is not None:
                        context.release()

    async def _handle_http(self, request: Request, context: Context) -> Response:
        media_type = _media_type_for(request.headers.get("accept"))
        request.state.media_type = media_type
        response = await self._answer_http(request, context)
        if media_type == GRAPHQL_RESPONSE_JSON and response.media_type == "application/json":
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        return response

    async def _answer_http(self, request: Request, context: Context) -> Response:
        if request.method not in ("GET", "POST"):
            return error_response(
                405,
                METHOD_NOT_ALLOWED,
                "GraphQL is served over GET and POST only.",
                {"Allow": "GET, POST"},
            )
        try:
            return await self._run_http(request, context)
        except (BodyTooLarge, ClientDisconnect):
            raise  # answered (or, for a client gone, logged) by server.limits.BodySizeLimit
        except Exception:
            log.exception("graphql.http_unexpected_error")
            return error_response(500, INTERNAL_SERVER_ERROR, "Internal server error.")

    async def _run_http(self, request: Request, context: Context) -> Response:
        header = request.headers.get("authorization")
        token = bearer_token(header)
        if header and token is None:
            return unauthenticated_response("Use `Authorization: Bearer <token>`.")
        try:
            context.principal = await self._principal(context, token)
        except Unauthenticated as error:
            return unauthenticated_response(error.message)
        bind_principal(context.principal)
        pending = PENDING_PERSIST.set(None)
        registered_only = REGISTERED_ONLY.set(registered_documents_only(context.principal))
        try:
            if (
                self.json_posts_direct
                and request.method == "POST"
                and request.headers.get("content-type") in JSON_POST_CONTENT_TYPES
            ):
                return await self._run_json_post(request, context)
            return await self.run(request, context=context)
        except PersistedQueryNotFound:
            status = 404 if request.state.media_type == GRAPHQL_RESPONSE_JSON else 200
            return error_response(status, PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
        except HTTPException as error:
            return refused_response(error)
        except StarletteHTTPException as error:  # Starlette's multipart parser refused it
            return error_response(
                error.status_code, BAD_REQUEST, f"The multipart body is malformed: {error.detail}"
            )
        finally:
            PENDING_PERSIST.reset(pending)
            REGISTERED_ONLY.reset(registered_only)

    async def _run_json_post(self, request: Request, context: Context) -> Response:
        """A POST of one operation as JSON, the common request, answered as Strawberry's
        view (``run``) answers it, with Portico's hooks in the same order
        (:meth:`_resolve_persisted`, :meth:`process_result`'s settling), but without
        the steps that decide nothing for it: the request adapter's content-type
        parsing (twice), the stream transport and GraphiQL checks, the sub-response and
        the response built and then rewritten. A body that is not a plain request
        object (:func:`plain_request_data`) goes to ``run``, which refuses it."""
        data = plain_request_data(await request.body())
        if data is None:
            return await self.run(request, context=context)
        await self._resolve_persisted(data)
        if self.query_slots.size and self.registry.for_principal(
            context.principal
        ).prepared.is_kept(data.query, data.operation_name, data.variables):
            async with self.query_slots.slot():  # a query run before: CPU-bound
                result = await self._execute_json(request, context, data)
        else:
            result = await self._execute_json(request, context, data)
        media_type = request.state.media_type
        body = process_result(result)
        status = await self._settle(result, body, media_type)
        if result.errors:
            self._handle_errors(result.errors, body)
        return GraphQLAnswer(self.encode_json(body), status or 200, media_type)

    async def _execute_json(
        self, request: Request, context: Context, data: GraphQLRequestData
    ) -> ExecutionResult:
        return await self.execute_single(
            request=request,
            request_adapter=self.request_adapter_class(request),
            sub_response=cast("Response", None),  # read by no step of execute_single
            context=context,
            root_value=None,  # the view's RootValue is None (GraphQL[Context, None])
            request_data=data,
        )

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        raw = params.get("Authorization") or params.get("authorization")
        token = bearer_token(raw) if isinstance(raw, str) else None
        if token is None and isinstance(params.get("token"), str):
            token = params["token"]
        try:
            principal = await self._principal(context, token)
        except Unauthenticated as error:
            raise ConnectionRejectionError(
                {"message": error.message, "code": "UNAUTHENTICATED"}
            ) from error
        context.reset_principal(principal)
        bind_principal(principal)  # for the connection's operations, started from now on
        credential = credential_id(principal)
        if credential is not None and isinstance(context.request, WebSocket):
            websocket = context.request

            async def close() -> None:
                await websocket.close(code=ACCESS_REVOKED, reason="Access revoked")

            context.release = self.runtime.hub.register(credential, close)
        await context.session.rollback()  # end the read transaction; the socket may live long
