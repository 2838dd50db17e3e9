"""The plan of a validated query: what graphql-core works out again for every object of
every request, worked out once per profile schema, document, operation and the values of
the variables its ``@skip``/``@include`` read.

graphql-core executes a field by looking up its definition, building a
``GraphQLResolveInfo``, coercing its arguments, calling its resolver and walking the
return type (non-null, list, leaf, object) to complete the value; for every object of a
list it collects the sub-selections again (memoised per list) and builds a ``Path`` for
every field. A plan holds the result of the lookups: per object type the fields to
resolve in response order (aliases, fragments and inline fragments flattened exactly as
graphql-core's own :func:`~graphql.execution.collect_fields` flattens them, since the plan
is built with it), each with its resolver, its arguments when they are literals, and the
shape of its return type down to the child plan. :mod:`schema.compiled_execution` runs it.

Plans are built with the request's variable values, so they hold for any request whose
``@skip``/``@include`` variables have the same values (:func:`condition_variables` names
them). Fields the plan does not run itself (``__schema``, ``__type``) are marked to be
executed by graphql-core; a document whose fields carry fragment variables or ``@defer``
raises :class:`Unsupported` and is executed by graphql-core as a whole.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetails, collect_subfields
from graphql.execution.values import get_argument_values
from graphql.type.scalars import serialize_boolean, serialize_id, serialize_string

from schema.direct_resolvers import batch_of, source_only

if TYPE_CHECKING:
    from graphql.execution import Executor

NON_NULL, LIST, LEAF, OBJECT, ABSTRACT = range(5)
EXECUTED_BY_GRAPHQL_CORE = frozenset({"__schema", "__type"})
_IMMUTABLE = (
    str,
    int,
    float,
    bool,
    type(None),
    enum.Enum,
    decimal.Decimal,
    uuid.UUID,
    datetime.date,
    datetime.time,
)
"""Argument values that may be shared by every request (a list or an input object's
dict is coerced again each time: a resolver could change it)."""


class Unsupported(Exception):
    """The document needs something only graphql-core's own execution does."""


LeafStep = tuple[str, Callable[[Any], Any], frozenset[type], Any, bool]
"""A leaf field of an object as the fast loop reads it: key, plain, as_is, coerce,
nullable."""


@dataclass(slots=True, eq=False)
class Shape:
    """A return type, unwrapped: what completing a value of it takes."""

    kind: int
    graphql_type: Any
    """The GraphQL type: NON_NULL, LIST, a leaf type, an object type, an abstract type."""
    inner: Any = None
    """NON_NULL, LIST: the shape of the wrapped type."""
    coerce: Any = None
    """LEAF: the type's ``coerce_output_value``."""
    as_is: frozenset[type] = frozenset()
    """LEAF: the value types its coercion answers unchanged (``str`` for ``String`` and
    ``ID``, ``bool`` for ``Boolean``): put in the response without the call."""
    fields: tuple[FieldPlan, ...] = ()
    """OBJECT: the fields to resolve on the value."""
    leaves: tuple[LeafStep, ...] | None = None
    """OBJECT: the fields, when all are leaves read from the source alone, as what the
    executor's fast loop reads of each (``schema.compiled_execution._leaves``)."""
    by_type: dict[str, Shape] = field(default_factory=dict)
    """ABSTRACT: the OBJECT shape of each runtime type met so far (built on first use)."""
    batched: tuple[FieldPlan, ...] = ()
    """OBJECT: the fields resolved for a whole list of the objects at once
    (:attr:`FieldPlan.batch`)."""


@dataclass(slots=True, eq=False)
class FieldPlan:
    """One response key of an object type's selection."""

    key: str
    name: str
    parent_type: GraphQLObjectType
    field_def: GraphQLField
    field_details: list[FieldDetails]
    nodes: list[FieldNode]
    shape: Shape
    resolve: Callable[..., Any]
    plain: Callable[[Any], Any] | None
    """The resolver's call on the source alone (no info needed), if it has one."""
    args: dict[str, Any] | None
    """The coerced arguments when they are the same for every request; else ``None``
    and ``dynamic_args``."""
    dynamic_args: bool
    leaf: bool
    """A leaf type, or a non-null one: completed in line."""
    coerce: Any
    """A leaf's ``coerce_output_value``."""
    as_is: frozenset[type]
    """A leaf's :attr:`Shape.as_is`."""
    non_null: bool
    by_graphql_core: bool
    """Executed by graphql-core's ``execute_field`` (introspection)."""
    batch: Callable[[Any, list[Any]], Any] | None = None
    """``batch(info, sources)``: the field for a list of objects at once
    (:func:`schema.direct_resolvers.batched`)."""

    @property
    def parent_name(self) -> str:
        return self.parent_type.name


_AS_IS: dict[Any, frozenset[type]] = {
    serialize_string: frozenset({str}),
    serialize_id: frozenset({str}),
    serialize_boolean: frozenset({bool}),
}
"""graphql-core's coercions that answer a value of these exact types as it is (their
first test: ``isinstance(value, str)``: ``return value``)."""


def _typename_of(name: str) -> Callable[[Any], str]:
    def typename(_source: Any) -> str:
        return name

    return typename


def build_fields(
    executor: Executor[Any],
    parent_type: GraphQLObjectType,
    grouped_field_set: Mapping[str, list[FieldDetails]],
) -> tuple[FieldPlan, ...]:
    """The plan of one selection on ``parent_type`` (its fields as collected)."""
    plans = []
    for key, details in grouped_field_set.items():
        plan = _build_field(executor, parent_type, key, details)
        if plan is not None:
            plans.append(plan)
    return tuple(plans)


def build_object(
    executor: Executor[Any], object_type: GraphQLObjectType, details: list[FieldDetails]
) -> Shape:
    """The OBJECT shape of ``object_type`` for the field(s) ``details`` selecting it."""
    collected = collect_subfields(
        executor.schema,
        executor.fragments,
        executor.variable_values,
        executor.operation,
        object_type,
        details,
        executor.hide_suggestions,
    )
    if collected.new_defer_usages:
        raise Unsupported("@defer")
    fields = build_fields(executor, object_type, collected.grouped_field_set)
    return Shape(
        OBJECT,
        object_type,
        fields=fields,
        leaves=_leaves_of(fields),
        batched=tuple(plan for plan in fields if plan.batch is not None),
    )


def _leaves_of(fields: tuple[FieldPlan, ...]) -> tuple[LeafStep, ...] | None:
    """The fields as :data:`LeafStep` s when every one is a leaf read from the source
    alone (an invoice line's, a client's ``id name``); else ``None``."""
    if not fields or not all(
        plan.plain is not None and plan.leaf and not plan.by_graphql_core for plan in fields
    ):
        return None
    return tuple(
        (plan.key, plan.plain, plan.as_is, plan.coerce, not plan.non_null)  # type: ignore[misc]
        for plan in fields
    )


def _build_field(
    executor: Executor[Any],
    parent_type: GraphQLObjectType,
    key: str,
    details: list[FieldDetails],
) -> FieldPlan | None:
    for detail in details:
        if detail.defer_usage is not None or detail.fragment_variable_values is not None:
            raise Unsupported("fragment variables or @defer")
    node = details[0].node
    name = node.name.value
    field_def = executor.schema.get_field(parent_type, name)
    if field_def is None:
        return None  # graphql-core leaves it out too
    nodes = [detail.node for detail in details]
    by_graphql_core = name in EXECUTED_BY_GRAPHQL_CORE
    shape = (
        Shape(LEAF, field_def.type)
        if by_graphql_core
        else _shape(executor, field_def.type, details)
    )
    resolve = field_def.resolve or executor.field_resolver
    plain = _typename_of(parent_type.name) if name == "__typename" else source_only(resolve)
    args: dict[str, Any] | None = {}
    dynamic = False
    if field_def.args or node.arguments:
        plain = None
        args, dynamic = _static_arguments(executor, field_def, node)
    leaf_shape = shape.inner if shape.kind == NON_NULL else shape
    return FieldPlan(
        key=key,
        name=name,
        parent_type=parent_type,
        field_def=field_def,
        field_details=details,
        nodes=nodes,
        shape=shape,
        resolve=resolve,
        plain=plain,
        args=args,
        dynamic_args=dynamic,
        leaf=leaf_shape is not None and leaf_shape.kind == LEAF,
        coerce=leaf_shape.coerce if leaf_shape is not None else None,
        as_is=leaf_shape.as_is if leaf_shape is not None else frozenset(),
        non_null=shape.kind == NON_NULL,
        by_graphql_core=by_graphql_core,
        batch=None if by_graphql_core or args != {} else batch_of(resolve),
    )


def _shape(
    executor: Executor[Any], graphql_type: GraphQLOutputType, details: list[FieldDetails]
) -> Shape:
    if isinstance(graphql_type, GraphQLNonNull):
        return Shape(NON_NULL, graphql_type, inner=_shape(executor, graphql_type.of_type, details))
    if isinstance(graphql_type, GraphQLList):
        return Shape(LIST, graphql_type, inner=_shape(executor, graphql_type.of_type, details))
    if is_leaf_type(graphql_type):
        coerce = graphql_type.coerce_output_value
        return Shape(LEAF, graphql_type, coerce=coerce, as_is=_AS_IS.get(coerce, frozenset()))
    if isinstance(graphql_type, GraphQLObjectType):
        return build_object(executor, graphql_type, details)
    if is_abstract_type(graphql_type):
        return Shape(ABSTRACT, graphql_type)
    raise Unsupported(f"return type {graphql_type}")  # pragma: no cover - all kinds above


def _static_arguments(
    executor: Executor[Any], field_def: GraphQLField, node: FieldNode
) -> tuple[dict[str, Any] | None, bool]:
    """The field's coerced arguments if every request has the same ones, and whether
    they are coerced per request instead."""
    if any(_has_variable(argument.value) for argument in node.arguments or ()):
        return None, True
    try:
        values = get_argument_values(
            field_def, node, executor.variable_values, None, executor.hide_suggestions
        )
    except Exception:
        return None, True
    if all(_immutable(value) for value in values.values()):
        return values, False
    return None, True


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(item.value) for item in value.fields)
    return False


def _immutable(value: Any) -> bool:
    return isinstance(value, _IMMUTABLE)


def condition_variables(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[str, ...]:
    """The variables the ``@skip``/``@include`` directives of ``operation`` (and of the
    fragments it spreads) read: the plan holds for any request giving them the same
    values."""
    names: set[str] = set()
    seen: set[str] = set()
    pending: list[SelectionSetNode] = [operation.selection_set]
    while pending:
        selection_set = pending.pop()
        for selection in selection_set.selections:
            for directive in selection.directives or ():
                if directive.name.value in ("skip", "include"):
                    names.update(
                        _variables_in(argument.value for argument in directive.arguments or ())
                    )
            if isinstance(selection, FieldNode | InlineFragmentNode):
                if selection.selection_set is not None:
                    pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in seen:
                    seen.add(name)
                    pending.append(fragment.selection_set)
    return tuple(sorted(names))


def _variables_in(values: Iterable[ValueNode]) -> set[str]:
    return {value.name.value for value in values if isinstance(value, VariableNode)}
