"""Every error a client sees carries a stable ``extensions.code``; nothing else leaks.

Errors raised on purpose (:class:`services.errors.PorticoError`) keep their message and
code; parse and validation errors keep graphql-core's message; anything unexpected is
logged with its stack and shown only as ``INTERNAL_SERVER_ERROR``.
"""

from __future__ import annotations

from collections.abc import Iterator

import structlog
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from services.errors import PorticoError

log = structlog.get_logger("portico.graphql")

INTERNAL_MESSAGE = "Internal server error."


def present(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, PorticoError):
        return GraphQLError(
            original.message,
            nodes=error.nodes,
            path=error.path,
            extensions=original.extensions,
        )
    if original is None or isinstance(original, GraphQLError):
        if error.extensions and "code" in error.extensions:
            return error
        code = (
            "BAD_USER_INPUT"
            if error.message.startswith("Variable '$")
            else ("GRAPHQL_VALIDATION_FAILED" if error.path is None else "BAD_USER_INPUT")
        )
        if error.message.startswith("Syntax Error"):
            code = "GRAPHQL_PARSE_FAILED"
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            path=error.path,
            extensions={**(error.extensions or {}), "code": code},
        )
    log.error(
        "graphql.unexpected_error",
        path=error.path,
        exc_info=(type(original), original, original.__traceback__),
    )
    return GraphQLError(
        INTERNAL_MESSAGE,
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )


class ErrorCodes(SchemaExtension):
    """Rewrites the result's errors with :func:`present` once the operation is done."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [present(error) for error in result.errors]
        pre = self.execution_context.pre_execution_errors
        if pre:
            self.execution_context.pre_execution_errors = [present(error) for error in pre]
