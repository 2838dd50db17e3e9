"""One execution per event for every subscriber with the same profile, scope and
selection.

graphql-core executes a subscription's selection once per event *per subscriber*; with
10,000 partners on one invoice stream that is 10,000 identical executions. This executor
(Strawberry's ``execution_context_class``) keys each event's execution by what decides
its result — the profile (hence the schema), the row scope, the document and its
variables — and runs it once per key (:meth:`DeliveredEvent.once`), in a database session
of its own, with the principal as it reads at delivery. The others receive the same
result. Anything that is not an event delivery executes as usual.
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable
from typing import Any

from graphql import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.context import Context
from schema.acyclic_executor import AcyclicExecutor
from services.event_log.delivered import Delivery
from services.event_log.direct import document_key


class SharedEventExecutor(AcyclicExecutor):
    _document_key: Hashable | None = None

    def build_per_event_executor(self, payload: Any) -> Any:
        if self._document_key is None:
            self._document_key = _document_key(self)
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        change = _change_of(self.root_value)
        if change is None:
            return super().execute_operation(serially)
        key = ("result", change.share_key, self._document_key)
        return change.event.once(key, lambda: self._execute_for(change, serially))

    async def _execute_for(self, change: Delivery, serially: bool | None) -> ExecutionResult:
        base: Context = self.context_value
        async with change.runtime.sessions() as session:
            self.context_value = Context(
                change.runtime,
                session,
                principal=change.principal,
                client_address=base.client_address,
            )
            try:
                outcome = super().execute_operation(serially)
                result = await outcome if inspect.isawaitable(outcome) else outcome
            finally:
                self.context_value = base
        return result  # type: ignore[return-value]


def _change_of(root: Any) -> Delivery | None:
    return root if isinstance(root, Delivery) else None


def _document_key(executor: StrawberryGraphQLCoreExecutionContext) -> Hashable:
    return document_key(executor.operation, executor.fragment_definitions, executor.variable_values)
