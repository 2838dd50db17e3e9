"""No control characters in any text a caller sends (README "Input rules").

Before an operation executes — after it validated, before variables are coerced and any
resolver runs — :class:`InputHygiene` looks at every string the caller sent: each string
literal in an argument or a variable's default value (inside input objects and lists too)
and each string anywhere in the variables. One holding a character no text field may hold
(:func:`services.validation.forbidden_character`: C0 controls except tab, line feed and
carriage return, DEL, C1 controls, unpaired surrogates) fails the whole operation with
``BAD_USER_INPUT``; ``extensions.field`` names where: ``contacts.0.email``-style paths
starting with the argument's name, or with ``$`` and the variable's name.

PostgreSQL refuses NUL in text (asyncpg raises), no database can store a lone surrogate,
and the other controls are never what a person typed. It is generic: no field needs to
opt in, and multi-line text keeps its newlines and tabs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    ListValueNode,
    Node,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableDefinitionNode,
    Visitor,
    visit,
)
from graphql.language.visitor import BREAK, SKIP, VisitorAction
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from services.identity_memo import IdentityMemo
from services.validation import describe_character, forbidden_character

Path = tuple[str | int, ...]


def _dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)


def refusal(character: str, path: Path, node: Node | None = None) -> GraphQLError:
    where = _dotted(path)
    return GraphQLError(
        f"Text may not contain {describe_character(character)} (in {where}): of the "
        "control characters only tab, line feed and carriage return are allowed.",
        node,
        extensions={"code": "BAD_USER_INPUT", "field": where},
    )


def check_variables(variables: dict[str, Any] | None) -> GraphQLError | None:
    """The refusal for the first forbidden character in the variables, if any."""
    stack: list[tuple[object, Path]] = [
        (value, (f"${name}",)) for name, value in reversed((variables or {}).items())
    ]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            character = forbidden_character(value)
            if character is not None:
                return refusal(character, path)
        elif isinstance(value, dict):
            stack.extend((item, (*path, key)) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in reversed(list(enumerate(value))))
    return None


def check_literal(value: ValueNode, path: Path) -> GraphQLError | None:
    """The refusal for the first forbidden character in a literal value, if any."""
    stack: list[tuple[ValueNode, Path]] = [(value, path)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, StringValueNode):
            character = forbidden_character(node.value)
            if character is not None:
                return refusal(character, at, node)
        elif isinstance(node, ObjectValueNode):
            stack.extend((field.value, (*at, field.name.value)) for field in reversed(node.fields))
        elif isinstance(node, ListValueNode):
            stack.extend(
                (item, (*at, index)) for index, item in reversed(list(enumerate(node.values)))
            )
    return None


class _Literals(Visitor):
    """Finds the first argument or variable default holding a forbidden character."""

    def __init__(self) -> None:
        super().__init__()
        self.error: GraphQLError | None = None

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> VisitorAction:
        self.error = check_literal(node.value, (node.name.value,))
        return BREAK if self.error else SKIP

    def enter_variable_definition(self, node: VariableDefinitionNode, *_args: Any) -> VisitorAction:
        if node.default_value is not None:
            self.error = check_literal(node.default_value, (f"${node.variable.name.value}",))
        return BREAK if self.error else None


CLEAN_DOCUMENTS = 1024
"""Documents remembered as clean (least recently used dropped first)."""

_clean: IdentityMemo[bool] = IdentityMemo(CLEAN_DOCUMENTS)


def _refusal_in(document: DocumentNode) -> GraphQLError | None:
    literals = _Literals()
    try:
        visit(document, literals)
    finally:
        # A visitor keeps its bound methods per node kind (``enter_leave_map``): a cycle
        # with itself, left to the collector for every new document and every refused
        # one (6 objects each; tests/server/test_request_garbage.py). Emptied, it is
        # freed by reference counting.
        literals.enter_leave_map.clear()
    return literals.error


def check_document(document: DocumentNode) -> GraphQLError | None:
    """The refusal for the first forbidden character in the document's values, if any.

    A clean document is walked once (:mod:`services.identity_memo`); one that is refused
    is walked again each time, for an error of its own."""
    if _clean.get((document,), lambda: _refusal_in(document) is None):
        return None
    return _refusal_in(document)


class InputHygiene(SchemaExtension):
    """Refuses an operation whose text input holds a forbidden character (see module)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        error = None
        if context.graphql_document is not None:
            error = check_document(context.graphql_document) or check_variables(context.variables)
        if error is not None:
            if context.operation_type is OperationType.SUBSCRIPTION:
                # Subscriptions do not look at a preset result: the error ends the stream.
                raise error
            context.result = ExecutionResult(data=None, errors=[error])
        yield
