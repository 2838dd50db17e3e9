"""Queries run again past Strawberry's per-request pipeline (issue 14).

Everything Strawberry does before a query executes is a pure function of the schema,
the document's text, the operation's name and the variables: parsing (the parse cache),
the token limit, the limits (cost, depth, aliases...), graphql-core's validation and the
input hygiene. For a query sent again with the same name and variables it decides the
same, and the extensions' results (the cost report) are the same. Yet each request paid
for the extensions runner: an instance of each extension, their hooks entered and left
around parsing, validation and execution, an execution context: ~850 Python calls, a
third of the tiny query's cost.

So once a query has gone through the whole pipeline up to execution (nothing refused it
before), :class:`PreparedOperations` keeps its tree and the extensions' results under
that key, per schema. The next request with the same key runs graphql-core's execution
of the tree directly, with the schema's executor (the compiled plans), and presents the
errors as :class:`schema.errors.ErrorCodes` does; the answer is the one the pipeline
gives (tests/server/test_prepared_operations.py compares them byte for byte). What stands
in front of the schema still runs for every request: the execution timeout, the
registered-documents rule and the introspection rule (:mod:`server.execution`).

Not kept: mutations and subscriptions, documents refused before execution (they are
answered by the pipeline each time, with its error), variables that are not JSON (an
upload) or longer than :data:`MAX_VARIABLES_KEY` as JSON, and texts longer than the parse
cache keeps (:data:`schema.parse_cache.MAX_TEXT_LENGTH`).
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import orjson
from graphql import DocumentNode, execute
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from schema.errors import forget_tracebacks, present
from schema.parse_cache import MAX_TEXT_LENGTH

MAX_OPERATIONS = 256
"""Operations kept per schema (text, name and variables each)."""
MAX_VARIABLES_KEY = 512
"""Variables longer than this as JSON are not part of a key: those requests take the
pipeline every time."""

Key = tuple[str, str | None, bytes | None]

_REACHED_EXECUTION: ContextVar[tuple[DocumentNode, str | None] | None] = ContextVar(
    "portico_reached_execution", default=None
)
"""Set by :class:`ReachedExecution` to the tree of a query that nothing refused, and the
name of the operation executed (Strawberry runs a document's first operation when none
is named, where graphql-core would refuse a document of several)."""

runs = 0
"""Requests answered from a kept operation in this process (tests check the path)."""


def operation_key(
    query: str | None, operation_name: str | None, variables: Mapping[str, Any] | None
) -> Key | None:
    """What decides everything before execution, or None when it is not to be kept."""
    if type(query) is not str or len(query) > MAX_TEXT_LENGTH:
        return None
    if operation_name is not None and type(operation_name) is not str:
        return None  # refused by the pipeline (an object, an array: 400)
    if not variables:
        return (query, operation_name, None)
    try:
        encoded = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an upload, or another value that is not JSON
        return None
    if len(encoded) > MAX_VARIABLES_KEY:
        return None
    return (query, operation_name, encoded)


class ReachedExecution(SchemaExtension):
    """The last extension: notes the tree of a query that reaches execution with no
    result set before it (the input hygiene sets one when it refuses)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if (
            context.result is None
            and context.graphql_document is not None
            and context.operation_type is OperationType.QUERY
        ):
            _REACHED_EXECUTION.set((context.graphql_document, context.operation_name))
        yield


class _Prepared:
    __slots__ = ("document", "extensions", "operation_name")

    def __init__(
        self, document: DocumentNode, operation_name: str | None, extensions: dict[str, Any] | None
    ) -> None:
        self.document = document
        self.operation_name = operation_name
        self.extensions = extensions


class PreparedOperations:
    """One schema's kept queries (see the module)."""

    enabled = True
    """Off: every operation takes the pipeline, and none is kept (for comparisons)."""

    def __init__(self, schema: Any) -> None:
        self._schema = schema
        self._kept: OrderedDict[Key, _Prepared] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def is_kept(
        self, query: str | None, operation_name: str | None, variables: Mapping[str, Any] | None
    ) -> bool:
        """Whether this operation would run from a kept tree (a query run before)."""
        key = operation_key(query, operation_name, variables)
        return self.enabled and key is not None and key in self._kept

    async def execute(
        self,
        pipeline: Any,
        query: str | None,
        variable_values: dict[str, Any] | None,
        context_value: Any,
        root_value: Any,
        operation_name: str | None,
        allowed_operation_types: Any,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        """The answer to one operation: from its kept tree, or through ``pipeline``
        (Strawberry's ``Schema.execute``), keeping it when it reaches execution."""
        if not self.enabled:
            return await pipeline(  # type: ignore[no-any-return]
                query, variable_values, context_value, root_value, operation_name,
                allowed_operation_types, operation_extensions,
            )  # fmt: skip
        key = operation_key(query, operation_name, variable_values)
        if key is not None and (prepared := self._kept.get(key)) is not None:
            self._kept.move_to_end(key)
            try:
                return await self._run(
                    prepared, variable_values, context_value, root_value, operation_extensions
                )
            except Exception:  # answered by the pipeline below, as it answers it
                self._kept.pop(key, None)
        reached = _REACHED_EXECUTION.set(None)
        try:
            result: ExecutionResult = await pipeline(
                query, variable_values, context_value, root_value, operation_name,
                allowed_operation_types, operation_extensions,
            )  # fmt: skip
            executed = _REACHED_EXECUTION.get()
        finally:
            _REACHED_EXECUTION.reset(reached)
        if key is not None and executed is not None:
            self._kept[key] = _Prepared(*executed, result.extensions)
            if len(self._kept) > MAX_OPERATIONS:
                self._kept.popitem(last=False)
        return result

    async def _run(
        self,
        prepared: _Prepared,
        variable_values: dict[str, Any] | None,
        context_value: Any,
        root_value: Any,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        """graphql-core's execution as Strawberry's ``_execute_operation`` calls it, and
        the result as its pipeline hands it back (errors presented, then freed of their
        tracebacks: :class:`schema.errors.ErrorCodes`)."""
        global runs
        runs += 1
        schema = self._schema
        outcome = execute(
            schema._schema,
            prepared.document,
            root_value=root_value,
            context_value=context_value,
            variable_values=variable_values,
            operation_name=prepared.operation_name,
            executor_class=schema.execution_context_class,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # as Strawberry passes it
            operation_extensions=operation_extensions,
        )
        if inspect.isawaitable(outcome):
            outcome = await outcome
        errors = outcome.errors
        if errors:
            presented = [present(error) for error in errors]
            forget_tracebacks(errors)
            errors = presented
        extensions = prepared.extensions
        return ExecutionResult(
            data=outcome.data,
            errors=errors,
            extensions=dict(extensions) if extensions is not None else None,
        )
