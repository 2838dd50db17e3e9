"""Each distinct document parsed once, not once per request or subscription.

Frontends and partners send the same few documents over and over; parsing one again
costs as much as a small query's execution, and each of 10,000 subscriptions kept its
own copy of the same syntax tree (about 6 KB each, bench/results/subscribers.json).
Documents are immutable once parsed (graphql-core and Portico only read them), so one
tree serves every schema and every caller.

Strawberry's own ``ParserCache`` parses inside the extension hook, where a syntax error
escapes Strawberry's handling; this one only hands out what Strawberry parsed
successfully before, keyed by the text and the parser's options (the token limit).
Small documents only, and a bounded number of them: unique texts cannot grow memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

MAX_DOCUMENTS = 256
MAX_TEXT_LENGTH = 8_192
"""Characters; longer documents are parsed every time (rare, and each would pin more
memory in the cache)."""

_documents: OrderedDict[tuple[str, Hashable], DocumentNode] = OrderedDict()


class ParsedDocuments(SchemaExtension):
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
                key = None
        yield
        document = context.graphql_document
        if key is not None and document is not None and not context.pre_execution_errors:
            _documents[key] = document
            if len(_documents) > MAX_DOCUMENTS:
                _documents.popitem(last=False)


def cached_document(query: str) -> DocumentNode | None:
    """The tree kept for ``query`` under any parser options (for tests)."""
    return next((doc for (text, _), doc in _documents.items() if text == query), None)
