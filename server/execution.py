"""What bounds one GraphQL operation: an execution timeout, on HTTP and WebSocket alike.

:class:`LimitedSchema` stands in front of the schema router where Strawberry's view
expects one schema. An operation that runs longer than ``execution_timeout_seconds`` is
cancelled where it awaits (a mutation's :func:`resolvers.common.atomic` rolls its
transaction back on the cancellation) and answered like any execution error: HTTP 200
with ``{"data": null, "errors": [{"extensions": {"code": "TIMEOUT"}}]}``, or a ``next``
message with that payload over a WebSocket. A subscription's stream is not bounded (it
waits for events by design).

It also presents the errors of results streamed over a WebSocket: Strawberry yields
them before the schema's ``on_operation`` hooks finish, so the codes given by
:class:`schema.errors.ErrorCodes` would otherwise be missing there.

And it keeps partner tokens of an account that requires registered documents
(``partnerDocuments: REGISTERED``) to those documents, on every transport: a document
sent in full runs only if its sha256 is registered for the account, a request by hash
alone (``extensions.persistedQuery``) runs the account's document of that hash, anything
else is refused with ``PERSISTED_QUERY_NOT_ALLOWED`` (403 under
``application/graphql-response+json``). Staff and contacts are never restricted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import structlog
from graphql import (
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    OperationType,
    get_operation_ast,
)
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from auth.principals import PartnerPrincipal, Principal, StaffPrincipal
from schema.errors import present
from schema.parse_cache import parse, validate
from schema.registry import SchemaRouter
from services.persisted_documents import document_hash, registered_document

log = structlog.get_logger("portico.graphql")

TIMEOUT = "TIMEOUT"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
BAD_REQUEST = "BAD_REQUEST"
PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"

_REFUSED = (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError)
"""What Strawberry refuses before execution (HTTP answers them 400/405, server.http_errors);
on a WebSocket they arrive as errors of the stream."""


def timed_out(seconds: float) -> ExecutionResult:
    return ExecutionResult(
        data=None,
        errors=[
            GraphQLError(
                f"The operation took longer than {seconds:g} seconds and was cancelled.",
                extensions={"code": TIMEOUT},
            )
        ],
    )


def presented(result: Any) -> Any:
    """``result`` with every error carrying its ``extensions.code``."""
    if isinstance(result, ExecutionResult) and result.errors:
        result.errors = [_present(error) for error in result.errors]
    return result


def _present(error: GraphQLError) -> GraphQLError:
    if isinstance(error.original_error, _REFUSED):  # e.g. a query on legacy graphql-ws
        return GraphQLError(error.message, extensions={"code": BAD_REQUEST})
    return present(error)


def registered_documents_only(principal: Principal | None) -> bool:
    """Whether ``principal`` may run registered documents only (a partner token of an
    account with ``partnerDocuments: REGISTERED``)."""
    return isinstance(principal, PartnerPrincipal) and principal.registered_documents_only


def not_allowed() -> ExecutionResult:
    return ExecutionResult(
        data=None,
        errors=[
            GraphQLError(
                "This API token may run registered documents only "
                "(`registerPersistedQuery`); this one is not registered for the account.",
                extensions={"code": PERSISTED_QUERY_NOT_ALLOWED},
            )
        ],
    )


def _hash_sent(extensions: Any) -> str | None:
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    sha256 = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    return sha256.lower() if isinstance(sha256, str) else None


async def registered_query(
    query: str | None, kwargs: dict[str, Any]
) -> tuple[str | None, ExecutionResult | None]:
    """The document to run and, for a caller held to registered documents whose request
    names none of them, the refusal instead."""
    context = kwargs.get("context_value")
    principal = getattr(context, "principal", None)
    if not isinstance(principal, PartnerPrincipal) or not principal.registered_documents_only:
        return query, None
    sha256 = document_hash(query) if query else _hash_sent(kwargs.get("operation_extensions"))
    if sha256 is None:
        return query, not_allowed()
    session = context.session  # type: ignore[union-attr]
    reading = session.in_transaction()
    document = await registered_document(session, principal.account_id, sha256)
    if not reading:  # a WebSocket's session: keep no transaction open on a long socket
        await session.rollback()
    if document is None:
        return query, not_allowed()
    return document, None


def is_subscription(query: str | None, operation_name: str | None, *, max_tokens: int) -> bool:
    """Whether the operation to run is a subscription. A document that does not parse is
    not (Strawberry answers its syntax error at once)."""
    if not query:
        return False
    try:
        document = parse(query, no_location=True, max_lexical_tokens=max_tokens)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, operation_name)
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


async def discard_transaction(context: Any) -> None:
    """End what the cancelled operation left of its transaction (a query's read
    transaction; ``atomic`` already rolled a mutation's back)."""
    session = getattr(context, "session", None)
    if session is None:
        return
    try:
        await session.rollback()
    except Exception:  # a connection cancelled mid-query may refuse; drop it instead
        log.warning("graphql.timeout_rollback_failed", exc_info=True)
        await session.invalidate()


class LimitedSchema:
    def __init__(
        self,
        schema: SchemaRouter,
        *,
        timeout_seconds: float,
        max_tokens: int,
        introspection: str = "everyone",
    ) -> None:
        self.schema = schema
        self.timeout_seconds = timeout_seconds
        self.max_tokens = max_tokens
        self.introspection = introspection

    def _refused_introspection(
        self, query: str | None, kwargs: dict[str, Any]
    ) -> ExecutionResult | None:
        """A refusal when the operation introspects (``__schema``, ``__type``) and the
        policy (``PORTICO_INTROSPECTION``) does not let this caller; ``__typename`` is
        always allowed. Only documents naming such a field are parsed here."""
        if (
            self.introspection == "everyone"
            or not query
            or ("__schema" not in query and "__type" not in query)
        ):
            return None
        principal = getattr(kwargs.get("context_value"), "principal", None)
        if self.introspection == "staff" and isinstance(principal, StaffPrincipal):
            return None
        try:
            document = parse(query, no_location=True, max_lexical_tokens=self.max_tokens)
        except GraphQLError:
            return None  # Strawberry answers the syntax error
        schema = self.schema.registry.for_principal(principal)._schema  # type: ignore[arg-type]
        if not validate(schema, document, [NoSchemaIntrospectionCustomRule]):
            return None
        who = "signed-in staff" if self.introspection == "staff" else "nobody"
        return ExecutionResult(
            data=None,
            errors=[
                GraphQLError(
                    f"Introspection is disabled here (allowed for {who}).",
                    extensions={"code": INTROSPECTION_DISABLED},
                )
            ],
        )

    @property
    def config(self) -> Any:
        return self.schema.config

    async def _timed_out(self, context: Any) -> ExecutionResult:
        log.warning("graphql.timeout", seconds=self.timeout_seconds)
        await discard_transaction(context)
        return timed_out(self.timeout_seconds)

    async def execute(self, query: str | None, **kwargs: Any) -> ExecutionResult:
        query, refused = await registered_query(query, kwargs)
        if refused is not None:
            return refused
        if (refused := self._refused_introspection(query, kwargs)) is not None:
            return refused
        try:
            async with asyncio.timeout(self.timeout_seconds) as deadline:
                result: ExecutionResult = await self.schema.execute(query, **kwargs)
                return result
        except TimeoutError:
            if not deadline.expired():
                raise
        return await self._timed_out(kwargs.get("context_value"))

    async def stream(self, query: str | None, **kwargs: Any) -> AsyncGenerator[Any, None]:
        """What graphql-transport-ws runs every operation with (queries included)."""
        query, refused = await registered_query(query, kwargs)
        if refused is None:
            refused = self._refused_introspection(query, kwargs)
        if refused is not None:
            return _once(PreExecutionError(data=None, errors=refused.errors))
        source = await self.schema.stream(query, **kwargs)
        return self._results(source, kwargs, bounded=self._bounded(query, kwargs))

    async def subscribe(self, query: str | None, **kwargs: Any) -> AsyncGenerator[Any, None]:
        query, refused = await registered_query(query, kwargs)
        if refused is None:
            refused = self._refused_introspection(query, kwargs)
        if refused is not None:
            return _once(PreExecutionError(data=None, errors=refused.errors))
        source = await self.schema.subscribe(query, **kwargs)
        return self._results(source, kwargs, bounded=self._bounded(query, kwargs))

    def _bounded(self, query: str | None, kwargs: dict[str, Any]) -> bool:
        operation_name = kwargs.get("operation_name")
        return not is_subscription(query, operation_name, max_tokens=self.max_tokens)

    async def _results(
        self, source: AsyncIterator[Any], kwargs: dict[str, Any], *, bounded: bool
    ) -> AsyncGenerator[Any, None]:
        if not bounded:  # a subscription lives as long as its client wants it
            async with aclosing(source):
                async for result in source:
                    yield presented(result)
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + self.timeout_seconds
        async with aclosing(source):
            while True:
                try:
                    async with asyncio.timeout_at(when) as deadline:
                        result = await anext(source)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    if not deadline.expired():
                        raise
                    yield await self._timed_out(kwargs.get("context_value"))
                    return
                yield presented(result)


async def _once(result: Any) -> AsyncGenerator[Any, None]:
    yield result
