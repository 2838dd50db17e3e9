"""The compiled execution path: queries run from a plan (:mod:`schema.compiled_plan`)
instead of graphql-core's generic field-by-field walk.

:class:`CompiledExecutor` is the schemas' ``execution_context_class`` (graphql-core's
``Executor``). Everything before execution stays as it was: Strawberry's extensions
(error codes, limits, the parse cache, input hygiene) run their hooks around it,
graphql-core coerces the variables and collects the root fields, and builds the response
from the data and the errors gathered here. Only the root fields' execution is replaced,
for query operations whose document was executed before (a plan is worth building for a
document that comes again: the parse cache hands out the same tree for the same text)
and when nothing needs graphql-core's own machinery (resolver middleware, an abort
signal, ``@experimental_disable_error_propagation``). Mutations (serial), subscriptions
and their per-event executions keep graphql-core's execution.

The plan's execution mirrors graphql-core's step for step, so that answers, errors and
database statements are the same:

- a field's value is completed as graphql-core completes it (``Cannot return null for
  non-nullable field``, leaf coercion, ``is_type_of``, abstract types resolved per value);
  an error goes through the executor's own ``handle_field_error`` (located at the same
  path, propagated to the nearest nullable parent, collected once);
- awaitables are combined where graphql-core combines them, with the same
  ``gather_with_cancel`` (one awaited directly): DataLoaders see the keys of a level in
  the same event-loop turns and dispatch the same batches;
- a field it does not run itself (``__schema``, ``__type``), an async iterable where a
  list is expected and an awaitable list item go to the executor's graphql-core methods.

What it saves: no field definition lookup, sub-field collection or ``Path`` per field,
no ``GraphQLResolveInfo`` for resolvers that only read their source
(:func:`schema.direct_resolvers.source_only`), arguments coerced once when they are
literals.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Hashable, Sequence
from functools import partial
from typing import Any

from graphql import GraphQLError, GraphQLObjectType, OperationType
from graphql.execution.collect_fields import DeferUsage, GroupedFieldSet
from graphql.execution.executor import invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, gather_with_cancel, inspect, is_iterable

from schema.compiled_plan import (
    ABSTRACT,
    LEAF,
    LIST,
    NON_NULL,
    OBJECT,
    FieldPlan,
    Shape,
    Unsupported,
    build_fields,
    build_object,
    condition_variables,
)
from schema.event_execution import SharedEventExecutor
from services.futures import Future, all_of, then
from services.rows import RowView

MAX_PLANS = 256
"""Operations kept per schema; each with a plan per ``@skip``/``@include`` values."""
MAX_CONDITION_VARIABLES = 4
"""Documents whose ``@skip``/``@include`` read more variables run through graphql-core
(up to 2**4 plans each otherwise)."""
COMPILE_AFTER = 1
"""Executions of an operation through graphql-core before a plan is built for it."""

_VALUE_TYPES = frozenset(
    {bool, int, float, str, decimal.Decimal, datetime.date, datetime.datetime, uuid.UUID}
)
"""Values that are neither awaitable nor null nor an exception: coerced straight away."""
_path = partial(tuple.__new__, Path)
"""``Path(prev, key, typename)`` (a named tuple) without its generated ``__new__``'s and
``add_key``'s frames: a path is made for every list item and resolved field."""
_SYNC_TYPES = _VALUE_TYPES | {type(None), list, dict, tuple}
"""Values that are not awaitable (the others are asked ``is_awaitable``, but for the
rows read as views, :class:`services.rows.RowView`: 600 list items on an invoice page)."""


class _Operation:
    """What is kept for one operation of one schema."""

    __slots__ = ("executions", "operation", "plans", "variables")

    def __init__(self, operation: Any, variables: tuple[str, ...]) -> None:
        self.operation = operation
        self.variables = variables
        self.executions = 0
        self.plans: dict[Hashable, tuple[FieldPlan, ...] | None] = {}


runs = 0
"""Operations executed from a plan in this process (tests check that the path is taken)."""
batched_lists = 0
"""Lists whose objects' batched fields were resolved at once (tests check the path)."""
_KEPT = "_portico_compiled_operations"
"""The attribute of a ``GraphQLSchema`` holding its operations: plans live and die with
their schema (a profile schema dropped by the registry takes its plans along)."""


def _kept(schema: Any) -> OrderedDict[int, _Operation]:
    found: OrderedDict[int, _Operation] | None = vars(schema).get(_KEPT)
    if found is None:
        found = vars(schema)[_KEPT] = OrderedDict()
    return found


class CompiledExecutor(SharedEventExecutor):
    """graphql-core's executor, running query plans (see the module)."""

    def execute_collected_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        new_defer_usages: Sequence[DeferUsage],
    ) -> Any:
        plan = None if serially or new_defer_usages else self._plan(root_type, grouped_field_set)
        if plan is None:
            return super().execute_collected_root_fields(
                root_type, root_value, grouped_field_set, serially, new_defer_usages
            )
        global runs
        runs += 1
        return self._fields(plan, root_value, None)

    # --- the plan -----------------------------------------------------------------------

    def _plan(
        self, root_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> tuple[FieldPlan, ...] | None:
        operation = self.operation
        if (
            operation.operation is not OperationType.QUERY
            or self.abort_signal is not None
            or self.hooks is not None
            or not self.error_propagation
            or (self.middleware_manager is not None and self.middleware_manager.middlewares)
        ):
            return None
        schema = self.schema
        operations = _kept(schema)
        key = id(operation)
        kept = operations.get(key)
        if kept is None or kept.operation is not operation:
            variables = condition_variables(operation, self.fragment_definitions)
            kept = _Operation(operation, variables)
            operations[key] = kept
            if len(operations) > MAX_PLANS:
                operations.popitem(last=False)
        else:
            operations.move_to_end(key)
        if kept.executions < COMPILE_AFTER:
            kept.executions += 1
            return None
        if len(kept.variables) > MAX_CONDITION_VARIABLES:
            return None
        coerced = self.variable_values.coerced
        signature = tuple(coerced.get(name, Undefined) for name in kept.variables)
        try:
            plan = kept.plans.get(signature, Undefined)
        except TypeError:  # an unhashable value
            return None
        if plan is Undefined:
            try:
                plan = build_fields(self, root_type, grouped_field_set)
            except Unsupported:
                plan = None
            kept.plans[signature] = plan
        return plan  # type: ignore[return-value]

    # --- running it ---------------------------------------------------------------------

    def _fields(
        self,
        plans: tuple[FieldPlan, ...],
        source: Any,
        path: Path | None,
        given: dict[str, Any] | None = None,
    ) -> Any:
        """graphql-core's ``execute_fields``: the fields of one object (``given``: what
        the batched fields resolved to for it, :meth:`_batched_list`)."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for plan in plans:
                plain = plan.plain
                if plain is not None and plan.leaf:
                    # The common case in line: an attribute read completed as a leaf.
                    try:
                        value = plain(source)
                        kind = type(value)
                        if kind in plan.as_is:
                            results[plan.key] = value
                            continue
                        if kind in _VALUE_TYPES:
                            coerced = plan.coerce(value)
                            if coerced is None or coerced is Undefined:
                                coerced = self._leaf(plan, value)  # raises graphql-core's error
                        elif kind not in _SYNC_TYPES and is_awaitable(value):
                            results[plan.key] = self._awaited(
                                plan, value, Path(path, plan.key, plan.parent_type.name), None
                            )
                            awaitable_fields.append(plan.key)
                            continue
                        else:
                            coerced = self._leaf(plan, value)
                        results[plan.key] = coerced
                    except Exception as raw_error:
                        self.handle_field_error(
                            raw_error,
                            plan.field_def.type,
                            plan.field_details,
                            Path(path, plan.key, plan.parent_type.name),
                        )
                        results[plan.key] = None
                    continue
                if given is not None and plan.batch is not None:
                    result = self._given(plan, given[plan.key], path)
                else:
                    result = self._field(plan, source, path)
                if result is Undefined:
                    continue
                results[plan.key] = result
                if type(result) not in _SYNC_TYPES and is_awaitable(result):
                    awaitable_fields.append(plan.key)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[key] for key in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        pending = [results[key] for key in awaitable_fields]
        if all(isinstance(value, Future) for value in pending):
            return then(
                pending[0] if len(pending) == 1 else all_of(pending),
                lambda done: _merged(results, awaitable_fields, done.result(), len(pending)),
            )

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                key = awaitable_fields[0]
                results[key] = await results[key]
            else:
                awaited = await gather_with_cancel(*(results[key] for key in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _field(self, plan: FieldPlan, source: Any, parent_path: Path | None) -> Any:
        """graphql-core's ``execute_field``."""
        path = _path((parent_path, plan.key, plan.parent_type.name))
        if plan.by_graphql_core:
            return self.execute_field(plan.parent_type, source, plan.field_details, path, None)
        info = None
        try:
            if plan.plain is not None:
                result = plan.plain(source)
            else:
                info = self._info(plan, path)
                args = plan.args
                if args is None:
                    args = get_argument_values(
                        plan.field_def,
                        plan.nodes[0],
                        self.variable_values,
                        None,
                        self.hide_suggestions,
                    )
                result = plan.resolve(source, info, **args)
            if type(result) not in _SYNC_TYPES and self.is_awaitable(result):
                if isinstance(result, Future):
                    return then(result, lambda done: self._finish(plan, done, path, info))
                return self._awaited(plan, result, path, info)
            if plan.leaf:
                return self._leaf(plan, result)
            completed = self._complete(plan, plan.shape, path, info, result)
            if type(completed) not in _SYNC_TYPES and self.is_awaitable(completed):
                return self._await_completed(plan, completed, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.field_def.type, plan.field_details, path)
            return None
        return completed

    def _info(self, plan: FieldPlan, path: Path) -> Any:
        return self.build_resolve_info(plan.field_def, plan.nodes, plan.parent_type, path)

    async def _await_completed(self, plan: FieldPlan, completed: Awaitable[Any], path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.field_def.type, plan.field_details, path)
            return None

    def _finish(self, plan: FieldPlan, done: Future[Any], path: Path, info: Any) -> Any:
        """:meth:`_awaited` for a resolver's future, once it is done (services.futures)."""
        try:
            resolved = done.result()
        except Exception as raw_error:
            resolved = raw_error
        return self._resolved(plan, resolved, path, info)

    def _given(self, plan: FieldPlan, resolved: Any, parent_path: Path | None) -> Any:
        """:meth:`_finish` for what a batched field resolved to for one object."""
        return self._resolved(
            plan, resolved, _path((parent_path, plan.key, plan.parent_type.name)), None
        )

    def _resolved(self, plan: FieldPlan, resolved: Any, path: Path, info: Any) -> Any:
        """A field's resolved value completed (an exception: the field's error)."""
        try:
            if isinstance(resolved, Exception):
                raise resolved
            if plan.leaf:
                return self._leaf(plan, resolved)
            completed = self._complete(plan, plan.shape, path, info, resolved)
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.field_def.type, plan.field_details, path)
            return None
        if type(completed) not in _SYNC_TYPES and self.is_awaitable(completed):
            if isinstance(completed, Future):
                return self._settle(plan, plan.field_def.type, completed, path)
            return self._await_completed(plan, completed, path)
        return completed

    def _settle(
        self, plan: FieldPlan, return_type: Any, completed: Future[Any], path: Path
    ) -> Future[Any]:
        """:meth:`_await_completed` (a field) or :meth:`_await_item` (a list item, its
        ``return_type`` the item's) for a completion that is a future."""

        def settled(done: Future[Any]) -> Any:
            try:
                return done.result()
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, plan.field_details, path)
                return None

        return then(completed, settled)

    async def _awaited(self, plan: FieldPlan, result: Any, path: Path, info: Any) -> Any:
        """graphql-core's ``complete_awaitable_value``."""
        try:
            resolved = await result
            if plan.leaf:
                return self._leaf(plan, resolved)
            completed = self._complete(plan, plan.shape, path, info, resolved)
            if type(completed) not in _SYNC_TYPES and self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.field_def.type, plan.field_details, path)
            completed = None
        return completed

    def _leaf(self, plan: FieldPlan, value: Any) -> Any:
        """``complete_value`` of a leaf type (non-null or not)."""
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            if plan.non_null:
                raise TypeError(
                    "Cannot return null for non-nullable field"
                    f" {plan.parent_type.name}.{plan.name}."
                )
            return None
        shape = plan.shape.inner if plan.non_null else plan.shape
        return _coerced(shape, value)

    def _complete(self, plan: FieldPlan, shape: Shape, path: Path, info: Any, value: Any) -> Any:
        """graphql-core's ``complete_value`` for ``shape``."""
        if isinstance(value, Exception):
            raise value
        kind = shape.kind
        if kind == NON_NULL:
            completed = self._complete(plan, shape.inner, path, info, value)
            if completed is None:
                raise TypeError(
                    "Cannot return null for non-nullable field"
                    f" {plan.parent_type.name}.{plan.name}."
                )
            return completed
        if value is None or value is Undefined:
            return None
        if kind == LEAF:
            return _coerced(shape, value)
        if kind == OBJECT:
            return self._object(plan, shape, path, info, value)
        if kind == LIST:
            return self._list(plan, shape, path, info, value)
        if kind == ABSTRACT:
            return self._abstract(plan, shape, path, info, value)
        raise TypeError(f"Cannot complete value of unexpected output type: '{shape}'.")

    def _object(self, plan: FieldPlan, shape: Shape, path: Path, info: Any, value: Any) -> Any:
        """graphql-core's ``complete_object_value``."""
        object_type: GraphQLObjectType = shape.graphql_type
        if object_type.is_type_of:
            is_type_of = object_type.is_type_of(value, info or self._info(plan, path))
            if self.is_awaitable(is_type_of):
                return self._object_after(plan, shape, path, value, is_type_of)
            if not is_type_of:
                raise invalid_return_type_error(object_type, value, plan.field_details)
        leaves = shape.leaves
        if leaves is not None:
            return self._leaves(leaves, shape.fields, value, path)
        return self._fields(shape.fields, value, path)

    def _leaves(
        self, leaves: Sequence[Any], plans: tuple[FieldPlan, ...], source: Any, path: Path | None
    ) -> Any:
        """:meth:`_fields` of an object whose fields are all leaves read from the source
        alone (a line's, a client's): the same values, with less per field. Anything
        out of the common way (an error, a value to await or coerce otherwise) runs the
        object's fields again through :meth:`_fields`, which handles it as graphql-core
        would: a source-only read has no effect to repeat."""
        results: dict[str, Any] = {}
        try:
            for key, plain, as_is, coerce, nullable in leaves:
                value = plain(source)
                kind = type(value)
                if kind in as_is:
                    results[key] = value
                elif value is None and nullable:
                    results[key] = None
                elif kind in _VALUE_TYPES:
                    coerced = coerce(value)
                    if coerced is None or coerced is Undefined:
                        return self._fields(plans, source, path)
                    results[key] = coerced
                else:
                    return self._fields(plans, source, path)
        except Exception:
            return self._fields(plans, source, path)
        return results

    async def _object_after(
        self, plan: FieldPlan, shape: Shape, path: Path, value: Any, is_type_of: Any
    ) -> Any:
        if not await is_type_of:
            raise invalid_return_type_error(shape.graphql_type, value, plan.field_details)
        completed = self._fields(shape.fields, value, path)
        if self.is_awaitable(completed):
            return await completed
        return completed  # pragma: no cover - graphql-core's shape

    def _abstract(self, plan: FieldPlan, shape: Shape, path: Path, info: Any, value: Any) -> Any:
        """graphql-core's ``complete_abstract_value``, with a plan per runtime type."""
        abstract_type: Any = shape.graphql_type
        info = info or self._info(plan, path)
        resolve_type = abstract_type.resolve_type or self.type_resolver
        runtime_type = resolve_type(value, info, abstract_type)
        if self.is_awaitable(runtime_type):
            return self._abstract_after(plan, shape, path, info, value, runtime_type)
        return self._runtime_object(plan, shape, path, info, value, runtime_type)

    async def _abstract_after(
        self, plan: FieldPlan, shape: Shape, path: Path, info: Any, value: Any, runtime: Any
    ) -> Any:
        completed = self._runtime_object(plan, shape, path, info, value, await runtime)
        if self.is_awaitable(completed):
            return await completed
        return completed

    def _runtime_object(
        self, plan: FieldPlan, shape: Shape, path: Path, info: Any, value: Any, type_name: Any
    ) -> Any:
        runtime_type = self.ensure_valid_runtime_type(
            type_name,
            shape.graphql_type,
            plan.field_details,
            info,
            value,
        )
        object_shape = shape.by_type.get(runtime_type.name)
        if object_shape is None:
            try:
                object_shape = build_object(self, runtime_type, plan.field_details)
            except Unsupported:
                return self.complete_object_value(
                    runtime_type, plan.field_details, info, path, value, None
                )
            shape.by_type[runtime_type.name] = object_shape
        return self._object(plan, object_shape, path, info, value)

    def _list(self, plan: FieldPlan, shape: Shape, path: Path, info: Any, value: Any) -> Any:
        """graphql-core's ``complete_list_value`` and ``complete_iterable_value``."""
        if type(value) is not list and self.is_async_iterable(value):
            return self.complete_value(
                shape.graphql_type,
                plan.field_details,
                info or self._info(plan, path),
                path,
                value,
                None,
            )
        if type(value) is not list and not is_iterable(value):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{plan.parent_type.name}.{plan.name}'."
            )
        item_shape = shape.inner
        # Non-null objects with no is_type_of (the rows of a page): what _complete does
        # for each, without its two levels of calls (the item's fields never come back
        # None: a dict or a future of one).
        object_fields = None
        leaves = None
        if item_shape.kind == NON_NULL:
            inner = item_shape.inner
            if inner.kind == OBJECT and not inner.graphql_type.is_type_of:
                object_fields = inner.fields
                leaves = inner.leaves
                if inner.batched and type(value) is list and len(value) > 1:
                    batched = self._batched_list(plan, item_shape, path, value)
                    if batched is not Undefined:
                        return batched
        return self._list_items(plan, item_shape, path, info, value, object_fields, leaves, None)

    def _list_items(
        self,
        plan: FieldPlan,
        item_shape: Shape,
        path: Path,
        info: Any,
        value: Any,
        object_fields: tuple[FieldPlan, ...] | None,
        leaves: Any,
        given: dict[str, list[Any]] | None,
    ) -> Any:
        """:meth:`_list`'s items, completed (``given``: what the batched fields of its
        objects resolved to, by field and item: :meth:`_batched_list`)."""
        item_type = item_shape.graphql_type
        is_awaitable = self.is_awaitable
        completed_results: list[Any] = []
        append = completed_results.append
        awaitable_indices: list[int] = []
        for index, item in enumerate(value):
            item_path = _path((path, index, None))
            kind = type(item)
            if kind not in _SYNC_TYPES and not issubclass(kind, RowView) and is_awaitable(item):
                append(
                    self.complete_awaitable_list_item_value(
                        item,
                        item_type,
                        plan.field_details,
                        info or self._info(plan, path),
                        item_path,
                        None,
                    )
                )
                awaitable_indices.append(index)
                continue
            try:
                if (
                    object_fields is not None
                    and item is not None
                    and not isinstance(item, Exception)
                ):
                    if leaves is not None:
                        completed = self._leaves(leaves, object_fields, item, item_path)
                    elif given is not None:
                        row = {key: values[index] for key, values in given.items()}
                        completed = self._fields(object_fields, item, item_path, row)
                    else:
                        completed = self._fields(object_fields, item, item_path)
                else:
                    completed = self._complete(plan, item_shape, item_path, info, item)
                if type(completed) not in _SYNC_TYPES and is_awaitable(completed):
                    if isinstance(completed, Future):
                        append(self._settle(plan, item_type, completed, item_path))
                    else:
                        append(self._await_item(plan, item_type, completed, item_path))
                    awaitable_indices.append(index)
                else:
                    append(completed)
            except Exception as raw_error:
                try:
                    self.handle_field_error(raw_error, item_type, plan.field_details, item_path)
                except Exception:
                    if awaitable_indices:
                        self.settle_in_background([completed_results[i] for i in awaitable_indices])
                    raise
                append(None)
        return _gathered(completed_results, awaitable_indices)

    def _batched_list(
        self, plan: FieldPlan, item_shape: Shape, path: Path, items: list[Any]
    ) -> Any:
        """:meth:`_list` for non-null objects with batched fields: each batched field
        resolved once for all the objects (``batch(info, objects)``: one DataLoader
        ``load_many``, where the resolver made a load, a future and a step per object),
        then each object completed with what its fields resolved to. The DataLoader
        batches are the same; so are the answers and errors, but for their order when
        two batched fields fail (field by field per object here, graphql-core's: as
        each resolver's future failed). ``Undefined`` (nothing done) when an item is
        not a plain object: :meth:`_list` completes those."""
        inner = item_shape.inner
        is_awaitable = self.is_awaitable
        for item in items:
            kind = type(item)
            if item is None or isinstance(item, Exception):
                return Undefined
            if kind not in _SYNC_TYPES and not issubclass(kind, RowView) and is_awaitable(item):
                return Undefined
        global batched_lists
        batched_lists += 1
        first = _path((path, 0, None))
        answers: list[Any] = []
        for field_plan in inner.batched:
            info = self._info(
                field_plan, _path((first, field_plan.key, field_plan.parent_type.name))
            )
            try:
                answer = field_plan.batch(info, items)
                if not isinstance(answer, list | Future) and is_awaitable(answer):
                    answer = asyncio.ensure_future(answer)
            except Exception as error:
                answer = error
            answers.append(answer)
        pending = [answer for answer in answers if isinstance(answer, Future)]

        def complete(_done: Any = None) -> Any:
            if any(answer.cancelled() for answer in pending):  # the operation is ending
                cancelled: Future[Any] = asyncio.get_running_loop().create_future()
                cancelled.cancel()
                return cancelled
            given: dict[str, list[Any]] = {}
            for field_plan, answer in zip(inner.batched, answers, strict=True):
                if isinstance(answer, Future):
                    error = answer.exception()
                    answer = error if error is not None else answer.result()
                if isinstance(answer, Exception):
                    answer = [answer] * len(items)
                elif type(answer) is not list or len(answer) != len(items):
                    answer = [TypeError(f"{field_plan.name}: a batch answered {answer!r}")] * len(
                        items
                    )
                given[field_plan.key] = answer
            return self._list_items(plan, item_shape, path, None, items, inner.fields, None, given)

        if not pending:
            return complete()
        return then(asyncio.gather(*pending, return_exceptions=True), complete)

    async def _await_item(
        self, plan: FieldPlan, item_type: Any, completed: Awaitable[Any], item_path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, plan.field_details, item_path)
            return None


def _gathered(completed_results: list[Any], awaitable_indices: list[int]) -> Any:
    """A list's completed items, or a future or coroutine of them when some are pending
    (the end of graphql-core's ``complete_list_value``)."""
    if not awaitable_indices:
        return completed_results
    pending = [completed_results[index] for index in awaitable_indices]
    if all(isinstance(value, Future) for value in pending):
        return then(
            pending[0] if len(pending) == 1 else all_of(pending),
            lambda done: _merged(completed_results, awaitable_indices, done.result(), len(pending)),
        )

    async def get_completed_results() -> list[Any]:
        if len(awaitable_indices) == 1:
            index = awaitable_indices[0]
            completed_results[index] = await completed_results[index]
        else:
            awaited = await gather_with_cancel(
                *(completed_results[index] for index in awaitable_indices)
            )
            for index, result in zip(awaitable_indices, awaited, strict=True):
                completed_results[index] = result
        return completed_results

    return get_completed_results()


def _merged(into: Any, keys: list[Any], values: Any, count: int) -> Any:
    """``into`` with ``values`` (one value when ``count`` is 1) put at ``keys``."""
    if count == 1:
        into[keys[0]] = values
    else:
        for key, value in zip(keys, values, strict=True):
            into[key] = value
    return into


def _coerced(shape: Shape, value: Any) -> Any:
    """graphql-core's ``complete_leaf_value``."""
    coerced = shape.coerce(value)
    if coerced is Undefined or coerced is None:
        raise TypeError(
            f"Expected `{inspect(shape.graphql_type)}.coerce_output_value("
            f"{inspect(value)})` to return non-nullable value, returned:"
            f" {inspect(coerced)}"
        )
    return coerced
