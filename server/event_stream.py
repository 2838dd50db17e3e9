"""``invoiceChanged`` without a task per subscription.

Through Strawberry's pipeline a subscription is a task running graphql-core's result
stream over the resolver's async generator over a broker listener, with an executor, a
Strawberry execution context and its extensions kept for the socket's life — some 30 KB
and a long way through Python per subscriber and event. Every subscriber of the same
profile, scope and selection receives the very same bytes, so that way is needed once
per group and event, not once per subscriber.

So when a WebSocket operation is an ``invoiceChanged`` subscription, :func:`prepare`
checks it with the caller's schema exactly as the pipeline would (Strawberry's parse
and validation with Portico's extensions: limits, parse cache, error codes; input
hygiene; variables; the resolver's own checks of ``clientId`` and ``after``, including
``CURSOR_EXPIRED``), and the operation becomes an :class:`InvoiceStream`: a record in
the broker (:mod:`services.event_log.streams`) with the principal, the selection and
where to write. Anything this module does not handle the same way — an error of any
kind, another root field, a directive on it, introspection, a registered-documents-only
token — returns ``None`` and the operation takes the pipeline as before, which answers
it as it always did.

Per event :class:`InvoiceStreams` does what the resolver does per subscriber (the event
addressed to it, the credential still live, the profile unchanged, the invoice in its
scope) with the answers shared through :meth:`DeliveredEvent.once` under the resolver's
own keys, executes the selection once per (profile, scope, selection) with a fresh
executor and session (:func:`execute_group`, shared with the pipeline's
``SharedEventExecutor`` under the same key), encodes the payload once, and writes each
subscriber its frame with only the operation id differing
(:class:`server.ws_protocol.OperationWriter`). A stream ends as the resolver's does: a
credential no longer valid ends it ``UNAUTHENTICATED``, a changed profile ``FORBIDDEN``,
each as a last result followed by ``complete``.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from graphql.execution.values import get_argument_values
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType as StrawberryOperationType

from auth.principals import AuthenticatedPrincipal, ContactPrincipal
from auth.profiles import Profile, profile_for
from resolvers.common import parse_optional_id
from resolvers.context import Context
from resolvers.invoice_events import InvoiceChange
from schema.acyclic_executor import AcyclicExecutor
from schema.input_hygiene import check_document, check_variables
from schema.registry import ProfileSchema, SchemaRegistry
from server.encoding import dumps, too_large, with_codes
from server.execution import presented, registered_documents_only
from services.errors import Forbidden, Unauthenticated
from services.event_log.audience import (
    addressed,
    credential_key,
    current_principal,
    invoice_visible,
    scope_key,
)
from services.event_log.delivered import DeliveredEvent
from services.event_log.direct import document_key
from services.event_log.reading import check_cursor, parse_cursor
from services.event_log.streams import Stream
from services.runtime import Runtime

log = structlog.get_logger("portico.events")

FIELD = "invoiceChanged"


_KEYS: dict[Hashable, Hashable] = {}
"""One copy of each selection's key (its printed document), shared by its streams."""
_MAX_KEYS = 1024


class OperationSink(Protocol):
    """Where one operation's messages go (its protocol's framing, its socket)."""

    def next(self, payload: bytes) -> None:
        """A result; never waits (a socket that cannot take it now queues it)."""

    def end(self, payload: bytes) -> None:
        """A last result, then ``complete``; the operation is over."""


@dataclass(slots=True, frozen=True, eq=False)
class Plan:
    """A validated ``invoiceChanged`` operation, as every event executes it."""

    schema: ProfileSchema
    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any] | None
    key: Hashable
    """:func:`services.event_log.direct.document_key`: equal for equal selections."""
    extensions: dict[str, Any] | None
    """The operation's extension results (its cost), sent with every result."""
    client_address: str


class InvoiceStream(Stream):
    """One ``invoiceChanged`` subscription (see the module docstring)."""

    __slots__ = (
        "addressing",
        "credential",
        "only_client",
        "plan",
        "principal",
        "sink",
        "subscribed",
    )

    def __init__(
        self,
        deliverer: InvoiceStreams,
        principal: AuthenticatedPrincipal,
        only_client: uuid.UUID | None,
        plan: Plan,
        sink: OperationSink,
    ) -> None:
        super().__init__(principal.account_id, deliverer)
        self.principal = principal
        self.only_client = only_client
        self.subscribed: Profile = profile_for(principal)
        self.plan = plan
        self.sink = sink
        # Per event, streams are sorted by these (strings: their hash is kept, where a
        # tuple of UUIDs would be hashed anew for every stream and event).
        self.credential = str(credential_key(principal))
        """Streams of one credential share its checks (:func:`credential_key`)."""
        client = principal.client_id if isinstance(principal, ContactPrincipal) else ""
        self.addressing = f"{type(principal).__name__}:{client}:{only_client or ''}"
        """Streams with the same one are :func:`addressed` the same events."""


@dataclass(slots=True)
class Prepared:
    plan: Plan
    principal: AuthenticatedPrincipal
    only_client: uuid.UUID | None
    after: int | None


async def prepare(
    registry: SchemaRegistry,
    context: Context,
    query: object,
    variables: object,
    operation_name: object,
) -> Prepared | None:
    """The operation as an :class:`InvoiceStream` would run it, or ``None``: let the
    pipeline run it (see the module docstring)."""
    if not isinstance(query, str) or FIELD not in query:
        return None
    if "__schema" in query or "__type" in query:
        return None  # introspection policy: the pipeline's
    if variables is not None and not isinstance(variables, dict):
        return None
    if operation_name is not None and not isinstance(operation_name, str):
        return None
    principal = context.principal
    if not isinstance(principal, AuthenticatedPrincipal) or registered_documents_only(principal):
        return None
    try:
        return await _prepare(registry, context, principal, query, variables, operation_name)
    except Exception:  # whatever it is, the pipeline answers it
        log.debug("event_stream.prepare_fell_back")
        return None


async def _prepare(
    registry: SchemaRegistry,
    context: Context,
    principal: AuthenticatedPrincipal,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> Prepared | None:
    schema = registry.for_principal(principal)
    validated = await _validated(schema, context, query, variables, operation_name)
    if validated is None:
        return None
    document, extensions = validated
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
        return None
    root = _root_field(operation)
    if root is None:
        return None
    if check_variables(variables) is not None or check_document(document) is not None:
        return None
    executor = AcyclicExecutor.build(
        schema._schema,
        document,
        context_value=context,
        raw_variable_values=variables,
        operation_name=operation_name,
    )
    if isinstance(executor, list):
        return None
    subscription_type = schema._schema.subscription_type
    if subscription_type is None or FIELD not in subscription_type.fields:
        return None
    arguments = get_argument_values(subscription_type.fields[FIELD], root, executor.variable_values)
    after = arguments.get("after")
    client_id = arguments.get("clientId")
    only_client = parse_optional_id(client_id, field="clientId")
    cursor = parse_cursor(after) if after is not None else None
    if cursor is not None:
        async with context.runtime.sessions() as session:
            await check_cursor(session, principal.account_id, cursor)
    key = document_key(operation, executor.fragment_definitions, executor.variable_values)
    if len(_KEYS) >= _MAX_KEYS and key not in _KEYS:
        _KEYS.clear()  # only sharing is lost: equal keys still compare equal
    plan = Plan(
        schema=schema,
        document=document,
        operation_name=operation_name,
        variables=variables,
        key=_KEYS.setdefault(key, key),
        extensions=extensions or None,
        client_address=context.client_address,
    )
    return Prepared(plan=plan, principal=principal, only_client=only_client, after=cursor)


async def _validated(
    schema: ProfileSchema,
    context: Context,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> tuple[DocumentNode, dict[str, Any]] | None:
    """Strawberry's parse and validation, with the schema's extensions around them (as
    :meth:`strawberry.Schema.stream` runs them): the document and the extensions'
    results, or ``None`` when anything refused it."""
    execution_context = schema._create_execution_context(
        query=query,
        allowed_operation_types=(StrawberryOperationType.SUBSCRIPTION,),
        variable_values=variables,
        context_value=context,
        root_value=None,
        operation_name=operation_name,
    )
    extensions = schema.get_extensions()
    for extension in extensions:
        extension.execution_context = execution_context
    runner = schema.create_extensions_runner(execution_context, extensions)
    async with runner.operation():
        refused = await schema._prepare_operation_async(execution_context, runner)
        if refused is not None or execution_context.graphql_document is None:
            return None
        results = await runner.get_extensions_results(execution_context)
    return execution_context.graphql_document, results


def _root_field(operation: OperationDefinitionNode) -> FieldNode | None:
    selections = operation.selection_set.selections
    if len(selections) != 1:
        return None
    root = selections[0]
    if not isinstance(root, FieldNode) or root.name.value != FIELD or root.directives:
        return None
    return root


class InvoiceStreams:
    """The app's :class:`~services.event_log.streams.Deliverer` of ``invoiceChanged``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.max_bytes = runtime.settings.max_response_bytes

    async def open(self, prepared: Prepared, sink: OperationSink) -> InvoiceStream:
        stream = InvoiceStream(self, prepared.principal, prepared.only_client, prepared.plan, sink)
        await self.runtime.events.attach(stream, after=prepared.after)
        return stream

    def close(self, stream: InvoiceStream) -> None:
        self.runtime.events.detach(stream)

    async def deliver(self, event: DeliveredEvent, streams: Sequence[Stream]) -> None:
        """The checks once per credential, the execution and the encoding once per
        group, then every frame in one synchronous loop (see the module docstring)."""
        sent_to: dict[str, bool] = {}
        by_credential: dict[str, list[InvoiceStream]] = {}
        for stream in streams:
            if not isinstance(stream, InvoiceStream):
                continue
            sent = sent_to.get(stream.addressing)
            if sent is None:
                sent = addressed(event, stream.principal, stream.only_client)
                sent_to[stream.addressing] = sent
            if not sent:
                continue
            same = by_credential.get(stream.credential)
            if same is None:
                by_credential[stream.credential] = [stream]
            else:
                same.append(stream)
        if not by_credential:
            return
        credentials = list(by_credential.values())
        audiences = await asyncio.gather(
            *(self._change_for(event, same[0].principal) for same in credentials)
        )
        groups: dict[Hashable, tuple[InvoiceChange, Plan]] = {}
        due: list[tuple[Hashable, list[InvoiceStream]]] = []
        for same, (now, change) in zip(credentials, audiences, strict=True):
            if now is None:
                for stream in same:
                    self._end(stream, Unauthenticated("Your access has ended."))
                continue
            by_plan: dict[Hashable, list[InvoiceStream]] = {}
            for stream in same:
                subscribed = stream.subscribed
                if now is not subscribed and now != subscribed:
                    self._end(
                        stream,
                        Forbidden(
                            "Your access changed: subscribe again to receive what you may see now."
                        ),
                    )
                    continue
                if change is None:
                    continue
                members = by_plan.get(stream.plan.key)
                if members is None:
                    by_plan[stream.plan.key] = [stream]
                else:
                    members.append(stream)
            if change is None:
                continue
            for plan_key, members in by_plan.items():
                shared = (change.share_key, plan_key)
                groups.setdefault(shared, (change, members[0].plan))
                due.append((shared, members))
        if not groups:
            return
        payloads = dict(
            zip(
                groups,
                await asyncio.gather(
                    *(self._payload(event, change, plan) for change, plan in groups.values())
                ),
                strict=True,
            )
        )
        for key, members in due:  # no await from here: like websockets' broadcast()
            payload = payloads[key]
            for stream in members:
                if not stream.closed:
                    stream.sink.next(payload)

    def _end(self, stream: InvoiceStream, error: Exception) -> None:
        self.close(stream)
        result = presented(
            ExecutionResult(data=None, errors=[GraphQLError(str(error), original_error=error)])
        )
        stream.sink.end(self.encode(result, stream.plan.extensions))

    async def _change_for(
        self, event: DeliveredEvent, principal: AuthenticatedPrincipal
    ) -> tuple[Profile | None, InvoiceChange | None]:
        """As ``resolvers.invoice_events._change_for``, under the same keys (a stream and
        a pipeline subscriber of one credential share the answer)."""
        runtime = self.runtime

        async def visible(current: AuthenticatedPrincipal) -> bool:
            async def read() -> bool:
                async with runtime.sessions() as session:
                    return await invoice_visible(session, current, event.subject_id)

            return await event.once(("visible", scope_key(current)), read)

        async def read() -> tuple[Profile | None, InvoiceChange | None]:
            async with runtime.sessions() as session:
                current = await current_principal(session, principal)
            if current is None:
                return None, None
            profile = profile_for(current)
            if not await visible(current):
                return profile, None
            return profile, InvoiceChange(event, current, (profile, scope_key(current)), runtime)

        return await event.once(("audience", credential_key(principal)), read)

    async def _payload(self, event: DeliveredEvent, change: InvoiceChange, plan: Plan) -> bytes:
        async def encoded() -> bytes:
            result = await event.once(
                ("result", change.share_key, plan.key), lambda: execute_group(change, plan)
            )
            return self.encode(presented(_strawberry_result(result)), plan.extensions)

        return await event.once(("payload", change.share_key, plan.key), encoded)

    def encode(self, result: ExecutionResult, extensions: dict[str, Any] | None) -> bytes:
        """The ``next`` payload Strawberry's handlers would send for ``result``, with
        every error coded (:func:`server.encoding.with_codes`) and bounded by
        ``max_response_bytes``."""
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        if extensions:
            payload["extensions"] = extensions
        coded = with_codes({"type": "next", "payload": payload})["payload"]
        body = dumps(coded)
        if len(body) > self.max_bytes:
            log.warning("graphql.response_too_large", size=len(body), limit=self.max_bytes)
            body = dumps(too_large(self.max_bytes))
        return body


def _strawberry_result(result: Any) -> ExecutionResult:
    if isinstance(result, ExecutionResult):
        return result
    return ExecutionResult(data=result.data, errors=result.errors)


async def execute_group(change: InvoiceChange, plan: Plan) -> Any:
    """The selection of ``plan`` for one event, as graphql-core executes a subscription
    event (root value: the event as the group's principal sees it), in a database
    session of its own."""
    runtime = change.runtime
    async with runtime.sessions() as session:
        context = Context(
            runtime, session, principal=change.principal, client_address=plan.client_address
        )
        # graphql-core's own executor is in a cycle with its helpers: with it each
        # event's execution left ~100 objects to the cyclic collector
        executor = AcyclicExecutor.build(
            plan.schema._schema,
            plan.document,
            root_value=change,
            context_value=context,
            raw_variable_values=plan.variables,
            operation_name=plan.operation_name,
        )
        if isinstance(executor, list):
            return ExecutionResult(data=None, errors=executor)
        outcome = executor.execute_operation(False)
        return await outcome if inspect.isawaitable(outcome) else outcome
