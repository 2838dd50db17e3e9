"""Automatic persisted queries (Apollo's protocol) on ``/graphql`` over HTTP.

A client sends ``extensions.persistedQuery = {"version": 1, "sha256Hash": <hex>}``:

- with no ``query``: the document stored under that hash runs; an unknown hash is
  answered ``PERSISTED_QUERY_NOT_FOUND`` (HTTP 200 with ``application/json``, 404 with
  ``application/graphql-response+json``) and the client sends it again with its
  ``query``;
- with its ``query``: the hash must be the sha256 of that text (else 400
  ``BAD_REQUEST``); the document runs and, once it has parsed and validated, is stored.

GET works the same (``?extensions=...&variables=...``), for queries only: a mutation over
GET stays 405, whether sent as text or by hash. The store is shared by every caller (a
hash only finds what someone who knew the text stored): a bounded in-memory LRU, or
Redis when ``PORTICO_REDIS_URL`` is set (entries expire after
``persisted_query_ttl_seconds``), so every instance knows what one was taught.

Partner tokens of an account with ``partnerDocuments: REGISTERED`` neither read nor
teach this store: their hashes are looked up in the account's registered documents
(:mod:`services.persisted_documents`, enforced in :mod:`server.execution`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Protocol

from server.http_errors import BAD_REQUEST, RequestRefused
from services.persisted_documents import document_hash

if TYPE_CHECKING:
    from redis.asyncio import Redis

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
REDIS_PREFIX = "portico:apq:"


class PersistedQueryNotFound(Exception):
    """The hash is unknown; answered as a GraphQL error (the client resends the text)."""


class QueryStore(Protocol):
    async def get(self, sha256: str) -> str | None: ...

    async def put(self, sha256: str, document: str) -> None: ...

    async def close(self) -> None: ...


class MemoryQueryStore:
    """The last documents used, bounded by their total size in characters."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._chars = 0

    async def get(self, sha256: str) -> str | None:
        document = self._documents.get(sha256)
        if document is not None:
            self._documents.move_to_end(sha256)
        return document

    async def put(self, sha256: str, document: str) -> None:
        if len(document) > self.max_chars or sha256 in self._documents:
            return
        self._documents[sha256] = document
        self._chars += len(document)
        while self._chars > self.max_chars:
            _, evicted = self._documents.popitem(last=False)
            self._chars -= len(evicted)

    async def close(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._documents)


class RedisQueryStore:
    """Documents in Redis under ``portico:apq:<sha256>``, each expiring ``ttl`` seconds
    after it was last stored."""

    def __init__(self, url: str, *, ttl_seconds: int) -> None:
        from redis.asyncio import Redis

        self.ttl_seconds = ttl_seconds
        self._redis: Redis = Redis.from_url(url)

    async def get(self, sha256: str) -> str | None:
        value = await self._redis.get(REDIS_PREFIX + sha256)
        if isinstance(value, bytes):
            return value.decode()
        return value

    async def put(self, sha256: str, document: str) -> None:
        await self._redis.set(REDIS_PREFIX + sha256, document.encode(), ex=self.ttl_seconds)

    async def close(self) -> None:
        await self._redis.aclose()


def store_for(*, redis_url: str | None, max_chars: int, ttl_seconds: int) -> QueryStore:
    if redis_url:
        return RedisQueryStore(redis_url, ttl_seconds=ttl_seconds)
    return MemoryQueryStore(max_chars)


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The sha256 a request names in ``extensions.persistedQuery``, checked for shape."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise RequestRefused(400, BAD_REQUEST, "Only persisted queries of version 1 are supported.")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or len(sha256) != 64:
        raise RequestRefused(
            400, BAD_REQUEST, "`persistedQuery.sha256Hash` must be a sha256 hex digest."
        )
    return sha256.lower()


def check_hash(sha256: str, query: str) -> None:
    if document_hash(query) != sha256:
        raise RequestRefused(400, BAD_REQUEST, "The provided sha256Hash does not match the query.")
