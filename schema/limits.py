"""Limits on what one GraphQL document may ask, checked before any resolver runs.

Each profile schema carries these extensions (``schema/builder.py``):

- Strawberry's ``MaxTokensLimiter`` makes graphql-core's parser stop at the token limit,
  so an oversized document never becomes a large AST (100,000 aliases are refused after
  reading the first 10,000 tokens);
- :class:`QueryLimiter` counts the operations once parsed, then, before graphql-core's
  validation, the aliases, directives, depth and cost (``schema/cost.py``) of the
  operation to run. A refused document is not validated further and nothing executes.

Strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter`` are not used: they skip
introspection fields (depth), walk a fragment again at each of its spreads (exponential
in a document whose fragments spread each other twice), and run after parsing only as
validation rules, alongside the rules they should spare.

Every refusal is a GraphQL error whose ``extensions`` carry a stable ``code`` (see
:data:`CODES`), the ``limit`` and what was ``found``. The cost of the operation that runs
(or is refused for its cost) is returned in the response's
``extensions.cost = {"requested": n, "limit": m}``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLError, get_operation_ast
from strawberry.extensions import MaxTokensLimiter, SchemaExtension

from schema.cost import (
    CostModel,
    count_directives,
    count_operations,
    most_repeated_field,
    operation_aliases,
    operation_cost,
    operation_depth,
)
from services.identity_memo import IdentityMemo

if TYPE_CHECKING:
    from services.config import Settings

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
TOO_MANY_DIRECTIVES = "TOO_MANY_DIRECTIVES"
TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"
CODES = (
    QUERY_TOO_COMPLEX,
    QUERY_TOO_DEEP,
    TOO_MANY_ALIASES,
    TOO_MANY_TOKENS,
    TOO_MANY_DIRECTIVES,
    TOO_MANY_OPERATIONS,
)

MAX_FIELD_REPEATS = 50
"""How often one response key may be selected in one selection set (see
:func:`schema.cost.most_repeated_field`); fragments repeating a few fields stay far below."""

# graphql-core's parse errors for the token limit and for nesting beyond Python's stack.
_TOKENS_MESSAGE = "tokens. Parsing aborted."
_NESTED_MESSAGE = "Document is nested too deeply."


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """The per-document limits (defaults: those of ``services.config.Settings``)."""

    max_cost: int = 5000
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 10_000
    max_directives: int = 50
    max_operations: int = 10
    cost_model: CostModel = field(default_factory=CostModel)

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLimits:
        return cls(
            max_cost=settings.query_max_cost,
            max_depth=settings.query_max_depth,
            max_aliases=settings.query_max_aliases,
            max_tokens=settings.query_max_tokens,
            max_directives=settings.query_max_directives,
            max_operations=settings.query_max_operations,
        )


PASSED: IdentityMemo[int | None] = IdentityMemo(1024)
"""The cost of documents within every limit, by schema, document and limits (identity),
operation name and variables (a page size is a variable): a document measured once is not
walked again for the same variables."""

MAX_VARIABLES_KEY = 512
"""Variables longer than this (as JSON) are not kept as a key: measured every time."""


def _variables_key(variables: Mapping[str, Any] | None) -> tuple[bool, bytes | None]:
    """Whether the variables can be a key, and the key (sorted JSON; ``None`` for none):
    not when too long or not JSON (an upload)."""
    if not variables:
        return True, None
    try:
        key = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return False, None
    return len(key) <= MAX_VARIABLES_KEY, key


def refusal(code: str, message: str, *, limit: int, found: int | None, **more: Any) -> GraphQLError:
    extensions: dict[str, Any] = {"code": code, "limit": limit}
    if found is not None:
        extensions["found"] = found
    return GraphQLError(message, extensions={**extensions, **more})


class QueryLimiter(SchemaExtension):
    """Refuses documents beyond :class:`QueryLimits`; reports the cost of the others."""

    def __init__(self, *, limits: QueryLimits) -> None:
        self.limits = limits
        self.cost: int | None = None

    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        for error in context.pre_execution_errors or ():
            self._name_parse_error(error)
        document = context.graphql_document
        if document is None:
            return
        operations = count_operations(document)
        if operations > self.limits.max_operations:
            # Raised rather than recorded: with several anonymous operations Strawberry
            # would otherwise stop at "which operation?" before validation.
            raise refusal(
                TOO_MANY_OPERATIONS,
                f"The document has {operations} operations; "
                f"at most {self.limits.max_operations} are allowed.",
                limit=self.limits.max_operations,
                found=operations,
            )

    def _name_parse_error(self, error: GraphQLError) -> None:
        """Give the parser's own limit errors their codes (the error objects are the ones
        Strawberry returns, so they are changed in place)."""
        if _TOKENS_MESSAGE in error.message:
            limit = self.limits.max_tokens
            error.message = f"The document has more than {limit} tokens, the limit."
            error.extensions = {"code": TOO_MANY_TOKENS, "limit": limit}
        elif _NESTED_MESSAGE in error.message:
            limit = self.limits.max_depth
            error.message = (
                f"The document is nested too deeply to parse; the depth limit is {limit}."
            )
            error.extensions = {"code": QUERY_TOO_DEEP, "limit": limit}

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            try:
                error = self._check()
            except RecursionError:
                error = refusal(
                    QUERY_TOO_DEEP,
                    "Fragments spread each other too deeply to measure; "
                    f"the depth limit is {self.limits.max_depth}.",
                    limit=self.limits.max_depth,
                    found=None,
                )
            if error is not None:
                # Set before Strawberry validates: it then skips graphql-core's rules.
                context.pre_execution_errors = [error]
        yield

    def _check(self) -> GraphQLError | None:
        """:meth:`_measure`, once per document, operation and variables that pass (see
        :data:`PASSED`): a refused document is measured again, for an error of its own."""
        context = self.execution_context
        document = context.graphql_document
        keepable, variables = _variables_key(context.variables)
        if document is None or not keepable:
            return self._measure()
        objects = (context.schema._schema, document, self.limits)
        also = (context.operation_name, variables)
        cost = PASSED.get(objects, self._passed_cost, also)
        if cost is None:
            return self._measure()
        self.cost = cost
        return None

    def _passed_cost(self) -> int | None:
        """The cost of a document within every limit; ``None`` for one refused."""
        return self.cost if self._measure() is None else None

    def _measure(self) -> GraphQLError | None:
        """The first limit the document goes beyond, cheapest checks first."""
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return None
        limits = self.limits
        directives = count_directives(document)
        if directives > limits.max_directives:
            return refusal(
                TOO_MANY_DIRECTIVES,
                f"The document has {directives} directives; "
                f"at most {limits.max_directives} are allowed.",
                limit=limits.max_directives,
                found=directives,
            )
        key, repeats = most_repeated_field(document)
        if repeats > MAX_FIELD_REPEATS:
            return refusal(
                QUERY_TOO_COMPLEX,
                f"The field '{key}' is selected {repeats} times in one selection set; "
                f"at most {MAX_FIELD_REPEATS} are allowed.",
                limit=MAX_FIELD_REPEATS,
                found=repeats,
                field=key,
            )
        operation = get_operation_ast(document, context.operation_name)
        if operation is None:
            return None  # no operation to run: graphql-core's validation says so
        aliases = operation_aliases(document, operation)
        if aliases > limits.max_aliases:
            return refusal(
                TOO_MANY_ALIASES,
                f"The operation has {aliases} aliases; at most {limits.max_aliases} are allowed.",
                limit=limits.max_aliases,
                found=aliases,
            )
        depth = operation_depth(document, operation)
        if depth > limits.max_depth:
            return refusal(
                QUERY_TOO_DEEP,
                f"The operation has depth {depth}; the limit is {limits.max_depth}.",
                limit=limits.max_depth,
                found=depth,
            )
        measured = operation_cost(
            context.schema._schema, document, operation, context.variables, limits.cost_model
        )
        self.cost = measured.cost
        if measured.overloaded is not None:
            name, count = measured.overloaded
            return GraphQLError(
                f"Field '{name}' takes {count} arguments at most.",
                extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
            )
        if measured.cost > limits.max_cost:
            return refusal(
                QUERY_TOO_COMPLEX,
                f"The operation costs {measured.cost}; the limit is {limits.max_cost}.",
                limit=limits.max_cost,
                found=measured.cost,
            )
        return None

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requested": self.cost, "limit": self.limits.max_cost}}


def limit_extensions(limits: QueryLimits) -> list[Callable[[], SchemaExtension]]:
    """The extensions enforcing ``limits``, as factories (one instance per request)."""
    return [
        functools.partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        functools.partial(QueryLimiter, limits=limits),
    ]
