"""graphql-core's validation without the reference cycles it leaves.

graphql-core validates a document with one visitor per rule, run side by side by a
``ParallelVisitor`` inside a ``TypeInfoVisitor`` (and, for the variable rules, one more
pair per operation and fragment: ``ValidationContext.get_variable_usages``). Each visitor
keeps, per node kind, what it calls on entering and leaving (``Visitor.enter_leave_map``):
bound methods of the visitor, or closures over it. So every visitor is in a cycle with
itself, and with it the validation context, the type info and the errors: ~800-1,000
objects for the cyclic collector per validation. A document that validates is validated
once per schema (:mod:`schema.parse_cache`), but a new one, one too long to keep, and one
that fails validation (a field the caller's schema lacks) are validated each time they
come (tests/server/test_request_garbage.py).

:func:`validate` is ``graphql.validate`` step for step (same visitors, order, error limit
and abort errors), with those maps emptied once the document is visited: the visitors are
then freed by reference counting. :func:`strawberry_rules` adds Strawberry's own two rules
as Strawberry's ``validate_document`` adds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    ParallelVisitor,
    TypeInfo,
    TypeInfoVisitor,
    ValidationContext,
    Visitor,
    assert_valid_schema,
    visit,
)
from graphql.validation.validate import (
    FragmentNestingVisitor,
    ValidationAbortedError,
    query_document_keys_to_validate,
)
from graphql.validation.validation_context import VariableUsage, VariableUsageVisitor
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

MAX_ERRORS = 100
"""graphql-core's default limit."""


def _forget_visits(*visitors: Visitor) -> None:
    """Break the cycle each visitor is in with what it calls per node kind."""
    for visitor in visitors:
        visitor.enter_leave_map.clear()


class _Context(ValidationContext):
    """graphql-core's validation context, whose variable usages (asked by the variable
    rules, once per operation and fragment) are found by visitors freed afterwards."""

    def get_variable_usages(self, node: Any) -> list[VariableUsage]:
        usages = self._variable_usages.get(node)
        if usages is None:
            fragment = node if isinstance(node, FragmentDefinitionNode) else None
            found = VariableUsageVisitor(self._type_info, fragment)
            outer = TypeInfoVisitor(self._type_info, found)
            try:
                visit(node, outer)
            finally:
                _forget_visits(outer, found)
            usages = self._variable_usages[node] = found.usages
        return usages


def strawberry_rules(
    rules: Sequence[type[ASTValidationRule]],
) -> tuple[type[ASTValidationRule], ...]:
    """The rules Strawberry validates with: the execution context's, and two of its own."""
    return (*rules, MaybeNullValidationRule, OneOfInputValidationRule)


def validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: Sequence[type[ASTValidationRule]],
    max_errors: int = MAX_ERRORS,
) -> list[GraphQLError]:
    """The errors of ``document`` against ``schema`` under ``rules``, as
    ``graphql.validate`` finds them."""
    assert_valid_schema(schema)
    errors: list[GraphQLError] = []
    type_info = TypeInfo(schema)

    def on_error(error: GraphQLError) -> None:
        if len(errors) >= max_errors:
            raise ValidationAbortedError(
                "Too many validation errors, error limit reached. Validation aborted."
            )
        errors.append(error)

    context = _Context(schema, document, type_info, on_error)
    visitors: list[Visitor] = [rule(context) for rule in rules]
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    if fragments:
        visitors.insert(0, FragmentNestingVisitor(fragments))
    parallel = ParallelVisitor(visitors)
    outer = TypeInfoVisitor(type_info, parallel)
    try:
        visit(document, outer, query_document_keys_to_validate)
    except ValidationAbortedError as error:
        error.__context__ = None
        errors.append(error.with_traceback(None))
    except RecursionError:
        errors.append(ValidationAbortedError("Validation aborted."))
    finally:
        _forget_visits(outer, parallel, *visitors)
    return errors
