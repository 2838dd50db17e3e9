"""Every error a client sees carries a stable ``extensions.code``; nothing else leaks.

Errors raised on purpose (:class:`services.errors.PorticoError`) keep their message and
code; parse and validation errors keep graphql-core's message; anything unexpected is
logged with its stack and shown only as ``INTERNAL_SERVER_ERROR``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

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


def forget_tracebacks(errors: Iterable[BaseException]) -> None:
    """Drop the tracebacks of ``errors``, of their original errors, causes and contexts,
    once they are presented (and an unexpected one logged).

    A traceback holds the frames the error passed through, and each frame its locals, so
    an error that one of those frames reaches is in a cycle. graphql-core's are: the
    executor (``await_result``'s closure, ``self`` of ``complete_awaitable_value``)
    holds its collected errors, and ``handle_field_error`` raises the located error from
    a frame that holds it as a local. So every request answered with a field error (a
    ``NOT_FOUND``, ``BAD_USER_INPUT`` or ``FORBIDDEN``) left its executor, context,
    loaders, rows and database session to the cyclic collector: ~185-195 objects a
    request for a refused mutation, ~160-175 for a query's field error
    (tests/server/test_request_garbage.py). Without their tracebacks the errors hold no
    frame, and the request is freed by reference counting. Nothing reads them later:
    the client sees messages and codes, the log already has the unexpected one."""
    pending: list[BaseException | None] = list(errors)
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        error.__traceback__ = None
        pending.extend((error.__cause__, error.__context__))
        if isinstance(error, GraphQLError):
            pending.append(error.original_error)


class ErrorCodes(SchemaExtension):
    """Rewrites the result's errors with :func:`present` once the operation is done
    (and then frees them of their tracebacks: :func:`forget_tracebacks`)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        pre = self.execution_context.pre_execution_errors
        shown = [*(result.errors or ()), *(pre or ())] if result is not None else [*(pre or ())]
        if result is not None and result.errors:
            result.errors = [present(error) for error in result.errors]
        if pre:
            self.execution_context.pre_execution_errors = [present(error) for error in pre]
        forget_tracebacks(shown)
