"""Which columns a field's selection needs, so read-only loaders fetch only those.

A list page of 100 invoices asks for 500 lines; reading each line's 17 columns (and
converting their 3 ids and 9 amounts) cost more than the statement itself, for the 3 or
4 columns a frontend shows. A loader that takes the columns of the selection reads only
those. A field the map does not know (a new one) reads every column: never too few.

The answer depends only on the field's nodes in the document, so it is worked out once
per document and field (:mod:`services.identity_memo`): a list of 100 invoices asks for
its lines' columns 100 times, with the same nodes each time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from graphql.language import FragmentDefinitionNode

from resolvers.context import Info
from services.identity_memo import IdentityMemo

ALL_COLUMNS: frozenset[str] | None = None
"""What :func:`columns_for` answers when some selected field has no known columns."""


def _field_names(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> Iterator[str]:
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _field_names(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                yield from _field_names(fragment.selection_set, fragments, seen | {name})


def _columns_of(
    selection_sets: Iterable[SelectionSetNode | None],
    fragments: Mapping[str, FragmentDefinitionNode],
    columns: Mapping[str, tuple[str, ...]],
) -> frozenset[str] | None:
    needed: set[str] = set()
    for selection_set in selection_sets:
        for name in _field_names(selection_set, fragments):
            if name == "__typename":
                continue
            found = columns.get(name)
            if found is None:
                return ALL_COLUMNS
            needed.update(found)
    return frozenset(needed)


MAX_REMEMBERED = 1024
"""Fields whose columns are kept (least recently used dropped first)."""

Compute = Callable[[Any, Mapping[str, tuple[str, ...]]], frozenset[str] | None]


class _Remembered:
    """A :data:`Compute` worked out once per column map and field nodes."""

    def __init__(self, compute: Compute) -> None:
        self._compute = compute
        self._kept: IdentityMemo[frozenset[str] | None] = IdentityMemo(MAX_REMEMBERED)

    def __call__(self, info: Info, columns: Mapping[str, tuple[str, ...]]) -> frozenset[str] | None:
        raw = info._raw_info
        return self._kept.get((columns, *raw.field_nodes), lambda: self._compute(raw, columns))


def _selected_columns(raw: Any, columns: Mapping[str, tuple[str, ...]]) -> frozenset[str] | None:
    return _columns_of((node.selection_set for node in raw.field_nodes), raw.fragments, columns)


columns_for = _Remembered(_selected_columns)
"""The columns that the selections of the field being resolved read, by ``columns``
(GraphQL field name -> the columns its resolver reads); ``None`` (all columns) when a
selected field is not in ``columns``. ``@skip``/``@include`` are not evaluated: a
skipped field only adds its columns."""


def _fields_named(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    name: str,
    seen: frozenset[str] = frozenset(),
) -> Iterator[FieldNode]:
    """The fields called ``name`` in ``selection_set`` (through fragments, any alias)."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value == name:
                yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields_named(selection.selection_set, fragments, name, seen)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and selection.name.value not in seen:
                yield from _fields_named(
                    fragment.selection_set, fragments, name, seen | {selection.name.value}
                )


def _node_columns(raw: Any, columns: Mapping[str, tuple[str, ...]]) -> frozenset[str] | None:
    fragments = raw.fragments
    selections: list[SelectionSetNode | None] = []
    for connection in raw.field_nodes:
        for nodes in _fields_named(connection.selection_set, fragments, "nodes"):
            selections.append(nodes.selection_set)
        for edges in _fields_named(connection.selection_set, fragments, "edges"):
            for node in _fields_named(edges.selection_set, fragments, "node"):
                selections.append(node.selection_set)
    return _columns_of(selections, fragments, columns)


node_columns_for = _Remembered(_node_columns)
""":func:`columns_for` for a connection's items: the columns their selections read under
``nodes`` and ``edges { node }`` of the connection field being resolved."""
