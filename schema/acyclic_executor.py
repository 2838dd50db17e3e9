"""graphql-core's executor without the reference cycle it makes of itself.

graphql-core's ``Executor.__init__`` keeps ``GraphQLResolveInfoHelpers(gather=
self.gather_async_work, track=self.track_async_work)`` on the executor: two bound methods,
each holding the executor, so the executor is in a cycle. Reference counting then never
frees it, nor anything it reaches: the request's context, its loaders with every row
and future they cached, the SQLAlchemy session. All of it waits for the cyclic
collector. Measured on the bench's staff list of 100 invoices (bench/hot_path.py):
2,695 objects a request left to the collector, a young collection every ~16 requests
that took 60-85 ms to free them (``gc.callbacks``), about 4 ms a request on average and
the worst of its p99.

Here the helpers call the executor through a weak reference: while it executes, the
execution itself holds it; once done, it and everything it reached are freed at once.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


def _weakly_bound(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` (a bound method) called through a weak reference to its object."""
    reference = weakref.WeakMethod(method)

    def call(*args: Any, **kwargs: Any) -> Any:
        bound = reference()
        if bound is None:  # pragma: no cover - nothing calls it once execution ended
            raise RuntimeError("The execution these helpers belong to has ended.")
        return bound(*args, **kwargs)

    return call


class AcyclicExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, freed by reference counting when it is done."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=_weakly_bound(self.gather_async_work),
            track=_weakly_bound(self.track_async_work),
        )
