"""Field resolvers without Strawberry's per-call glue, where it does nothing.

For every field with a resolver, Strawberry's resolve function builds an ``Info``,
converts the (absent) arguments, chains the (absent) field extensions and looks up the
root, self and info parameters again, on every call: about ten Python calls around a
one-line resolver such as a money field's rounding. A page of 100 invoices with their
lines and clients resolves about 1,500 such fields. For a field that has no arguments,
no field extensions and no exception handlers, the same call is made directly:

- a field without a resolver reads the attribute (``StrawberryConfig.default_resolver``,
  here ``getattr``), as Strawberry's own basic-field path does;
- a resolver gets the source as ``self``/``root``/``Parent`` and a Strawberry ``Info``
  only when it asks for one, exactly as :func:`strawberry.schema.schema_converter.get_arguments`
  passes them; an async resolver's coroutine is returned for graphql-core to await.

Anything else (arguments, extensions, exception handlers, root operation types) keeps
Strawberry's resolver. The result a resolver returns is untouched either way.

A direct resolver that needs only its source (an attribute read, a resolver of ``self``
and/or its parent) is also known by :func:`source_only`: the compiled execution path
(:mod:`schema.compiled_execution`) calls that with the source alone and builds no
``GraphQLResolveInfo`` for it.
"""

from __future__ import annotations

import inspect
import operator
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

ROOT_TYPE_NAMES = frozenset({"Query", "Mutation", "Subscription"})

_SOURCE_ONLY: weakref.WeakKeyDictionary[Callable[..., Any], Callable[[Any], Any]] = (
    weakref.WeakKeyDictionary()
)
"""Installed resolve functions that ignore their info, and the same call on the source."""


_BATCHES: weakref.WeakKeyDictionary[Callable[..., Any], Callable[[Any, list[Any]], Any]] = (
    weakref.WeakKeyDictionary()
)
"""Installed resolve functions whose field also resolves a whole list's objects at once."""
BATCH = "__portico_batch__"


def batched(batch: Callable[[Any, list[Any]], Any]) -> Callable[[Callable[..., Any]], Any]:
    """Marks a field's resolver as resolvable for a whole list of its objects at once:
    ``batch(info, sources)`` answers what the resolver answers for each source, in their
    order (a list, or a future of one; an item may be an exception, that item's error).
    The compiled execution path (:mod:`schema.compiled_execution`) calls it once for the
    objects of a list (a page's invoices: their lines, their clients) instead of the
    resolver once per object; graphql-core's own execution keeps calling the resolver."""

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        setattr(function, BATCH, batch)
        return function

    return mark


def batch_of(resolve: Callable[..., Any] | None) -> Callable[[Any, list[Any]], Any] | None:
    """``batch(raw_info, sources)`` for a direct resolver whose field is :func:`batched`."""
    if resolve is None:
        return None
    try:
        return _BATCHES.get(resolve)
    except TypeError:  # not weakly referenceable: not one of ours
        return None


def _batch_call(
    batch: Callable[[Any, list[Any]], Any],
    info_class: type[Any],
    definition: StrawberryField,
    raw: GraphQLResolveInfo[Any],
    sources: list[Any],
) -> Any:
    return batch(info_class(_raw_info=raw, _field=definition), sources)


def source_only(resolve: Callable[..., Any] | None) -> Callable[[Any], Any] | None:
    """``resolve``'s call on its source alone, when ``resolve`` is a direct resolver that
    does not look at its info."""
    if resolve is None:
        return None
    try:
        return _SOURCE_ONLY.get(resolve)
    except TypeError:  # not weakly referenceable: not one of ours
        return None


def install(schema: GraphQLSchema, converter: GraphQLCoreConverter) -> int:
    """Replace the resolve functions of ``schema`` (built by ``converter``) that can be
    called directly; how many were."""
    if converter.config.default_resolver is not getattr:
        return 0
    info_class = converter.config.info_class
    count = 0
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        if graphql_type.name in ROOT_TYPE_NAMES:
            continue
        for graphql_field in graphql_type.fields.values():
            resolve = direct_resolver(graphql_field, converter, info_class)
            if resolve is not None:
                graphql_field.resolve = resolve
                count += 1
    return count


def direct_resolver(
    graphql_field: GraphQLField, converter: GraphQLCoreConverter, info_class: type[Any]
) -> Callable[..., Any] | None:
    definition = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or graphql_field.resolve is None:
        return None
    if definition.extensions or definition.arguments or graphql_field.args:
        return None
    if converter._get_field_exception_handlers(definition):
        return None
    resolver = definition.base_resolver
    if resolver is None:
        return _attribute(definition.python_name)
    function = resolver.wrapped_func
    if not callable(function):
        return None
    resolve = _call(
        function,
        definition,
        info_class,
        with_self=resolver.self_parameter is not None,
        parent=resolver.parent_parameter.name if resolver.parent_parameter else None,
        root=resolver.root_parameter.name if resolver.root_parameter else None,
        info=resolver.info_parameter.name if resolver.info_parameter else None,
    )
    batch = getattr(function, BATCH, None)
    if batch is not None:
        _BATCHES[resolve] = partial(_batch_call, batch, info_class, definition)
    return resolve


def _attribute(name: str) -> Callable[..., Any]:
    def resolve(source: Any, _info: GraphQLResolveInfo[Any]) -> Any:
        return getattr(source, name)

    _SOURCE_ONLY[resolve] = operator.attrgetter(name)
    return resolve


def _call(
    function: Callable[..., Any],
    definition: StrawberryField,
    info_class: type[Any],
    *,
    with_self: bool,
    parent: str | None,
    root: str | None,
    info: str | None,
) -> Callable[..., Any]:
    if with_self and parent is None and root is None and info is None:

        def resolve_self(source: Any, _info: GraphQLResolveInfo[Any]) -> Any:
            return function(source)

        _SOURCE_ONLY[resolve_self] = function
        return resolve_self
    names = tuple(dict.fromkeys(name for name in (parent, root) if name is not None))
    if info is None and len(names) == 1:
        # ``root: Parent[Row]`` is both the root and the parent parameter: one keyword.
        (name,) = names
        positional = _positional_index(function, name) == (1 if with_self else 0)
        if with_self:

            def resolve_self_parent(source: Any, _info: GraphQLResolveInfo[Any]) -> Any:
                return function(source, **{name: source})

            def self_parent(source: Any) -> Any:
                return function(source, **{name: source})

            def self_parent_positional(source: Any) -> Any:
                return function(source, source)

            _SOURCE_ONLY[resolve_self_parent] = (
                self_parent_positional if positional else self_parent
            )
            return resolve_self_parent

        def resolve_parent(source: Any, _info: GraphQLResolveInfo[Any]) -> Any:
            return function(**{name: source})

        def parent_only(source: Any) -> Any:
            return function(**{name: source})

        _SOURCE_ONLY[resolve_parent] = function if positional else parent_only
        return resolve_parent

    def resolve(source: Any, raw: GraphQLResolveInfo[Any]) -> Any:
        kwargs: dict[str, Any] = {}
        if parent is not None:
            kwargs[parent] = source
        if root is not None:
            kwargs[root] = source
        if info is not None:
            kwargs[info] = info_class(_raw_info=raw, _field=definition)
        return function(source, **kwargs) if with_self else function(**kwargs)

    return resolve


def _positional_index(function: Callable[..., Any], name: str) -> int | None:
    """Where ``name`` stands among ``function``'s parameters when it may be passed by
    position (then a call can pass the source there without building a dict)."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return None
    for index, parameter in enumerate(parameters):
        if parameter.name == name:
            positional = parameter.kind in (
                inspect.Parameter.POSITIONAL_ONLY,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
            )
            return index if positional else None
    return None
