"""What an operation asks for, measured on its parsed document before anything runs.

The cost model (in the spirit of GitHub's and Shopify's):

- an object, interface or union field costs 1 for each object it returns; scalar and enum
  fields, and ``__typename``, cost nothing; a root mutation field costs
  :attr:`CostModel.mutation_cost`, since it writes;
- a field's cost includes its selection, and a list multiplies it by the list's length:
  a Relay connection's ``edges`` and ``nodes`` by the page asked for (``first``, or the
  default page size when absent; at most the largest page), any other list by an assumed
  length (:attr:`CostModel.default_list_size`, or a per-field override). Lists nested in
  lists multiply along the path, so ``payment { allocations { payment { allocations ...``
  grows exponentially, as its result does;
- a connection object itself costs 1 and the edge wrapper nothing: ``edges { node }``
  costs one per node;
- introspection is costed like data, but its in-memory lists are assumed
  :attr:`CostModel.introspection_list_size` long, so that GraphiQL's introspection query
  fits the default budget while a ``__type { fields { type { fields ...`` chain grows
  by that factor at each level.

Depth counts nested selection sets (as graphql-depth-limit and Strawberry's
``QueryDepthLimiter`` do): ``{ invoices { edges { node { id } } } }`` has depth 3. Unlike
Strawberry's limiter, introspection fields are not skipped.

Every walk here memoises fragments, so a document whose fragments spread each other
many times is measured in time linear to its size (Strawberry's limiters walk each
fragment again at every spread, exponential in such documents).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)

from services.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

LIST_SIZES: Mapping[str, int] = MappingProxyType(
    {
        # Lists that are not connections and may well be longer than the default.
        "Invoice.lines": 25,
        "Quote.lines": 25,
        "RecurringInvoice.lines": 25,
        "Invoice.activity": 25,
        "Quote.activity": 25,
        "Statement.entries": 100,
        "Project.tasks": 50,
        "Project.documents": 50,
        "Project.timeLogs": 50,
        "Task.comments": 25,
        "Project.invoices": 25,
        "Project.activity": 50,
        "SupportTicket.messages": 25,
        "TicketMessage.attachments": 5,
        "Dashboard.upcomingPayments": 24,  # its largest `count`
    }
)
"""Assumed lengths of unpaginated list fields, by ``Type.field``; others are
:attr:`CostModel.default_list_size` long."""


@dataclass(frozen=True, slots=True)
class CostModel:
    """The prices of :func:`operation_cost`."""

    object_cost: int = 1
    mutation_cost: int = 10
    default_list_size: int = 10
    list_sizes: Mapping[str, int] = field(default_factory=lambda: LIST_SIZES)
    introspection_list_size: int = 5
    default_page_size: int = DEFAULT_PAGE_SIZE
    max_page_size: int = MAX_PAGE_SIZE


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def count_operations(document: DocumentNode) -> int:
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def count_directives(document: DocumentNode) -> int:
    """Directives written anywhere in the document (each fragment once, as written)."""
    total = 0
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        total += len(getattr(node, "directives", None) or ())
        stack.extend(getattr(node, "variable_definitions", None) or ())
        selection_set: SelectionSetNode | None = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return total


def most_repeated_field(document: DocumentNode) -> tuple[str, int]:
    """The response key selected most often in one selection set (its inline fragments
    included), and how often.

    graphql-core's check that same-named fields can be merged compares them pairwise:
    2,400 copies of ``clients { totalCount }`` (30 KB) take it seconds."""
    worst = ("", 0)
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        selection_set: SelectionSetNode | None = getattr(node, "selection_set", None)
        if selection_set is None:
            continue
        counts: dict[str, int] = {}
        flat = list(selection_set.selections)
        while flat:
            selection = flat.pop()
            if isinstance(selection, InlineFragmentNode):
                flat.extend(selection.selection_set.selections)
                continue
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                counts[key] = counts.get(key, 0) + 1
                if counts[key] > worst[1]:
                    worst = (key, counts[key])
            stack.append(selection)
    return worst


class _Walk:
    """One operation's fragments, each measured once whatever the number of spreads.

    A fragment being measured is counted as 0 where it spreads itself (a cycle, which
    validation refuses anyway)."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = fragments_of(document)
        self._depths: dict[str, int] = {}
        self._aliases: dict[str, int] = {}
        self._open: set[str] = set()

    def _fragment(self, name: str, memo: dict[str, int], measure: Any) -> int:
        if name in memo:
            return memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self._open:
            return 0
        self._open.add(name)
        try:
            memo[name] = value = int(measure(fragment.selection_set))
        finally:
            self._open.discard(name)
        return value

    def depth(self, selection_set: SelectionSetNode) -> int:
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                here = 0
                if selection.selection_set is not None:
                    here = self.depth(selection.selection_set) + (not chained(selection))
            elif isinstance(selection, InlineFragmentNode):
                here = self.depth(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                here = self._fragment(selection.name.value, self._depths, self.depth)
            deepest = max(deepest, here)
        return deepest

    def aliases(self, selection_set: SelectionSetNode) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += selection.alias is not None
                if selection.selection_set is not None:
                    total += self.aliases(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += self.aliases(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value, self._aliases, self.aliases)
        return total


def chained(node: FieldNode) -> bool:
    """Whether ``node`` continues a type reference (``ofType``), which adds no depth: the
    chain of a type's wrappers has no lists and ends within a few levels."""
    return node.name.value == "ofType"


def is_connection(type_: GraphQLNamedType) -> bool:
    return isinstance(type_, GraphQLObjectType) and {"edges", "pageInfo"} <= type_.fields.keys()


def is_edge(type_: GraphQLNamedType) -> bool:
    return isinstance(type_, GraphQLObjectType) and {"node", "cursor"} <= type_.fields.keys()


class _Costing(_Walk):
    """:func:`operation_cost` for one operation of one document."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any],
        model: CostModel,
    ) -> None:
        super().__init__(document)
        self.schema = schema
        self.variables = variables
        self.model = model
        self._costs: dict[tuple[str, int | None], int] = {}
        self.overloaded: tuple[str, int] | None = None
        """The first field given more arguments than it has (``Type.field``, how many it
        has): such a document is invalid, and is refused without validating each one."""

    def selection_set(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, page: int | None
    ) -> int:
        """Cost of one object's selection; ``page`` is the page size when ``parent`` is
        a connection (its ``edges`` and ``nodes`` are that long)."""
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(inner or parent, selection.selection_set, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection, page)
        return total

    def fragment(self, spread: FragmentSpreadNode, page: int | None) -> int:
        name = spread.name.value
        key = (name, page)
        if key in self._costs:
            return self._costs[key]
        fragment = self.fragments.get(name)
        if fragment is None or name in self._open:
            return 0
        condition = self.schema.get_type(fragment.type_condition.name.value)
        if condition is None:
            return 0
        self._open.add(name)
        try:
            self._costs[key] = value = self.selection_set(condition, fragment.selection_set, page)
        finally:
            self._open.discard(name)
        return value

    def field(self, parent: GraphQLNamedType, node: FieldNode, page: int | None) -> int:
        definition = self.definition(parent, node.name.value)
        if definition is None:
            return 0  # unknown: validation refuses it
        if len(node.arguments or ()) > len(definition.args) and self.overloaded is None:
            self.overloaded = (f"{parent.name}.{node.name.value}", len(definition.args))
        named = get_named_type(definition.type)
        if parent is self.schema.mutation_type:
            own = self.model.mutation_cost  # it writes, whatever it answers
        elif is_leaf_type(named):
            return 0
        elif is_edge(named) and page is not None:
            own = 0  # the edge wraps its node, which is what is counted
        else:
            own = self.model.object_cost
        length = 1
        inner_page = None
        if is_connection(named) and "first" in definition.args:
            inner_page = self.page_size(node, definition)
        elif is_list_type(get_nullable_type(definition.type)):
            length = self.list_size(parent, node, definition, page)
        inner = 0
        if node.selection_set is not None:
            inner = self.selection_set(named, node.selection_set, inner_page)
        return length * (own + inner)

    def definition(self, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
        if name == "__typename":
            return TypeNameMetaFieldDef
        if parent is self.schema.query_type:
            if name == "__schema":
                return SchemaMetaFieldDef
            if name == "__type":
                return TypeMetaFieldDef
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            found: GraphQLField | None = parent.fields.get(name)
            return found
        return None

    def list_size(
        self, parent: GraphQLNamedType, node: FieldNode, definition: GraphQLField, page: int | None
    ) -> int:
        name = node.name.value
        if page is not None and name in ("edges", "nodes"):
            return page
        if parent.name.startswith("__"):
            return self.model.introspection_list_size
        if "first" in definition.args:
            return self.page_size(node, definition)
        return self.model.list_sizes.get(f"{parent.name}.{name}", self.model.default_list_size)

    def page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        """The ``first`` asked for (a literal, or a variable's value), or the default.

        Values the resolver refuses (negative, above the largest page) are costed as the
        largest page: they never run more than that."""
        value: Any = definition.args["first"].default_value
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
            elif isinstance(argument.value, NullValueNode):
                value = None
            else:
                value = self.model.max_page_size
        if value is None:
            return self.model.default_page_size
        if not isinstance(value, int) or isinstance(value, bool):
            return self.model.max_page_size
        return value if 0 <= value <= self.model.max_page_size else self.model.max_page_size


def operation_depth(document: DocumentNode, operation: OperationDefinitionNode) -> int:
    return _Walk(document).depth(operation.selection_set)


def operation_aliases(document: DocumentNode, operation: OperationDefinitionNode) -> int:
    """Aliased fields of the operation, each fragment counted at every spread."""
    return _Walk(document).aliases(operation.selection_set)


@dataclass(frozen=True, slots=True)
class Cost:
    cost: int
    overloaded: tuple[str, int] | None = None
    """A field given more arguments than it has: ``("Type.field", how many it has)``."""


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
    model: CostModel | None = None,
) -> Cost:
    """The operation's cost under ``model`` (see the module's docstring)."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return Cost(0)
    costing = _Costing(schema, document, variables or {}, model or CostModel())
    cost = costing.selection_set(root, operation.selection_set, None)
    return Cost(cost, costing.overloaded)
