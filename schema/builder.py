"""The parts of every schema; ``schema/registry.py`` cuts one per caller profile."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from schema import direct_resolvers
from schema.compiled_execution import CompiledExecutor
from schema.errors import ErrorCodes
from schema.event_execution import SharedEventExecutor
from schema.input_hygiene import InputHygiene
from schema.limits import QueryLimits, limit_extensions
from schema.parse_cache import ParsedDocuments
from schema.prepared_operations import PreparedOperations, ReachedExecution
from schema.root import VIEWERS, Mutation, Query, Subscription
from schema.scalars import SCALAR_OVERRIDES

CONFIG = StrawberryConfig(disable_field_suggestions=True)


class PorticoSchema(strawberry.Schema):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        direct_resolvers.install(self._schema, self.schema_converter)
        self.prepared = PreparedOperations(self)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Strawberry's execution, or a query kept from it (schema.prepared_operations)."""
        return await self.prepared.execute(
            super().execute, query, variable_values, context_value, root_value,
            operation_name, allowed_operation_types, operation_extensions,
        )  # fmt: skip

    @staticmethod
    def remove_field_suggestion(error: GraphQLError) -> None:
        """No "Did you mean ...?" in any message: not for fields (Strawberry's own rule),
        and not for types, arguments or enum values either."""
        if "Did you mean" in error.message:
            error.message = error.message.split("Did you mean")[0].strip()

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Errors are presented and logged by :class:`ErrorCodes`; nothing more here."""


def schema_arguments(
    limits: QueryLimits | None = None, *, compiled_execution: bool = True
) -> dict[str, Any]:
    """What every Portico schema is made of (the per-profile ones are cut from it).

    ``limits`` (default: the settings' defaults) bound each document before it runs;
    :class:`ErrorCodes` comes first so that it presents their refusals too. With
    ``compiled_execution``, queries run from plans (:mod:`schema.compiled_execution`)."""
    return {
        "query": Query,
        "mutation": Mutation,
        "subscription": Subscription,
        "types": VIEWERS,
        "extensions": [
            ErrorCodes,
            *limit_extensions(limits or QueryLimits()),
            ParsedDocuments,
            InputHygiene,
            ReachedExecution,  # last: it sees what the others decided
        ],
        "scalar_overrides": SCALAR_OVERRIDES,
        "execution_context_class": (
            CompiledExecutor if compiled_execution else SharedEventExecutor
        ),
    }


def build_full_schema() -> PorticoSchema:
    """Every type and field, whoever may see them: the reference the policy tests check
    each profile's schema against. Never served."""
    return PorticoSchema(config=CONFIG, **schema_arguments())
