"""Each distinct document parsed once, and validated once per schema, not once per
request or subscription.

Frontends and partners send the same few documents over and over; parsing one again
costs as much as a small query's execution, and each of 10,000 subscriptions kept its
own copy of the same syntax tree (about 6 KB each, bench/results/subscribers.json).
Documents are immutable once parsed (graphql-core and Portico only read them), so one
tree serves every schema and every caller.

Strawberry's own ``ParserCache`` parses inside the extension hook, where a syntax error
escapes Strawberry's handling; this one only hands out what Strawberry parsed
successfully before, keyed by the text and the parser's options (the token limit).
Small documents only, and a bounded number of them: unique texts cannot grow memory.

A kept tree that passed graphql-core's validation against a profile's schema passes it
again (validation depends on nothing else), so that is remembered too, per schema and
tree: subscribing 10,000 partners spent most of its time validating the same document
(bench/subscribers.py, sampled). Portico's own limits (:mod:`schema.limits`) still run
on every request. The validation itself is graphql-core's without the reference cycles
its visitors make (:func:`validate`, below).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    ParallelVisitor,
    Token,
    TypeInfo,
    TypeInfoVisitor,
    ValidationContext,
    Visitor,
    assert_valid_schema,
    visit,
)
from graphql.language.parser import Parser, nested_too_deeply_error
from graphql.validation.validate import (
    FragmentNestingVisitor,
    ValidationAbortedError,
    query_document_keys_to_validate,
)
from graphql.validation.validation_context import VariableUsage, VariableUsageVisitor
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

MAX_DOCUMENTS = 256
MAX_TEXT_LENGTH = 8_192
"""Characters; longer documents are parsed every time (rare, and each would pin more
memory in the cache)."""

_documents: OrderedDict[tuple[str, Hashable], DocumentNode] = OrderedDict()
MAX_VALIDATED = 1024
_validated: OrderedDict[tuple[int, int, tuple[int, ...]], tuple[object, DocumentNode]] = (
    OrderedDict()
)
"""(schema, tree, rules) that validated without errors; the objects are held so their
ids stay theirs."""


def parse(source: str, **options: Any) -> DocumentNode:
    """``graphql.parse`` (same parser, options and errors), its tokens unlinked once done,
    for documents parsed outside Strawberry's pipeline (server.execution: is a WebSocket
    operation a subscription? does a document introspect?).

    graphql-core's lexer links every token to the one before and after it, so a tree
    that is dropped leaves all its tokens in one cycle for the cyclic collector: 8 for
    ``{ viewer { __typename } }``, thousands for a large document, on every WebSocket
    operation (tests/server/test_request_garbage.py). A tree keeps the first and last
    token of each node's location, which need no neighbours. (The trees Strawberry
    parses are kept: by this cache, the limits' and input hygiene's memos.)"""
    parser = Parser(source, **options)
    try:
        return parser.parse_document()
    except RecursionError:
        pass
    finally:
        _unlink(parser._lexer.token)
    raise nested_too_deeply_error(parser)


def _unlink(token: Token | None) -> None:
    following = token.next if token is not None else None
    while token is not None:
        token.next, token.prev, token = None, None, token.prev
    while following is not None:
        following.prev, following.next, following = None, None, following.next


class ParsedDocuments(SchemaExtension):
    def __init__(self) -> None:
        self._kept = False
        """Whether the request's tree is the kept one (validation may be remembered)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        key: tuple[str, Hashable] | None = None
        if query is not None and context.graphql_document is None and len(query) <= MAX_TEXT_LENGTH:
            key = (query, tuple(sorted(context.parse_options.items())))
            cached = _documents.get(key)
            if cached is not None:
                _documents.move_to_end(key)
                context.graphql_document = cached
                self._kept = True
                key = None
        fresh = context.graphql_document is None
        yield
        document = context.graphql_document
        if fresh and document is not None and document.loc is not None:
            # a tree dropped later (evicted from here, or never kept) would leave its
            # linked tokens to the cyclic collector, in whichever request drops it
            _unlink(document.loc.start_token)
        if key is not None and document is not None and not context.pre_execution_errors:
            _documents[key] = document
            self._kept = True
            if len(_documents) > MAX_DOCUMENTS:
                _documents.popitem(last=False)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        key: tuple[int, int, tuple[int, ...]] | None = None
        # None: not refused by the limits (which run first) nor validated yet
        if self._kept and document is not None and context.pre_execution_errors is None:
            schema = context.schema._schema
            key = (id(schema), id(document), tuple(id(rule) for rule in context.validation_rules))
            kept = _validated.get(key)
            if kept is not None and kept[0] is schema and kept[1] is document:
                _validated.move_to_end(key)
                context.pre_execution_errors = []  # valid: Strawberry skips validating
                key = None
        if (
            document is not None
            and context.pre_execution_errors is None
            and context.validation_rules
        ):
            # what Strawberry would run next, without the cycles (validate, below)
            context.pre_execution_errors = validate(
                context.schema._schema, document, strawberry_rules(context.validation_rules)
            )
        yield
        if key is not None and context.pre_execution_errors == []:
            _validated[key] = (context.schema._schema, document)  # type: ignore[assignment]
            if len(_validated) > MAX_VALIDATED:
                _validated.popitem(last=False)


def cached_document(query: str) -> DocumentNode | None:
    """The tree kept for ``query`` under any parser options (for tests)."""
    return next((doc for (text, _), doc in _documents.items() if text == query), None)


# -- validation ----------------------------------------------------------------------
# graphql-core's validation without the reference cycles it leaves.
#
# graphql-core validates a document with one visitor per rule, run side by side by a
# ``ParallelVisitor`` inside a ``TypeInfoVisitor`` (and, for the variable rules, one more
# pair per operation and fragment: ``ValidationContext.get_variable_usages``). Each visitor
# keeps, per node kind, what it calls on entering and leaving (``Visitor.enter_leave_map``):
# bound methods of the visitor, or closures over it. So every visitor is in a cycle with
# itself, and with it the validation context, the type info and the errors: ~800-1,000
# objects for the cyclic collector per validation. A document that validates is validated
# once per schema (:mod:`schema.parse_cache`), but a new one, one too long to keep, and one
# that fails validation (a field the caller's schema lacks) are validated each time they
# come (tests/server/test_request_garbage.py).
#
# :func:`validate` is ``graphql.validate`` step for step (same visitors, order, error limit
# and abort errors), with those maps emptied once the document is visited: the visitors are
# then freed by reference counting. :func:`strawberry_rules` adds Strawberry's own two rules
# as Strawberry's ``validate_document`` adds them.

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
