"""The identity of a GraphQL document for persisted queries: the sha256 of its exact text
(Apollo's automatic persisted queries hash the same way)."""

from __future__ import annotations

import hashlib


def document_hash(document: str) -> str:
    """The lowercase hex sha256 of ``document``'s UTF-8 text."""
    return hashlib.sha256(document.encode()).hexdigest()
