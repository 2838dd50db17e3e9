"""Where uploaded bytes live: one small interface, a local directory or an S3 bucket.

Keys are made by Portico (``documents/<account>/<uuid>``), never from a file's name, so
no user input reaches a path or an object key. :meth:`Storage.save` is all or nothing:
when the chunks it is given raise part way (a file too large, a client gone), nothing is
left under the key, or anywhere else.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime

CHUNK_BYTES = 64 * 1024
"""How much is read, hashed, written or sent at a time."""

_KEY = re.compile(r"^[a-z0-9_-]+(?:/[a-z0-9_-]+)*$")


@dataclass(frozen=True)
class StoredObject:
    """One complete stored file: its key and when it was last written (UTC)."""

    key: str
    modified_at: datetime


class StoredFileMissing(Exception):
    """Nothing is stored under the key."""


def check_key(key: str) -> str:
    """``key`` if it is one Portico makes (lower-case segments, no dots), else ValueError."""
    if not _KEY.fullmatch(key) or len(key) > 300:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class Storage(ABC):
    @abstractmethod
    async def save(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        """Store the bytes ``chunks`` yields under ``key``, streaming; all or nothing."""

    @abstractmethod
    def stream(self, key: str) -> AsyncIterator[bytes]:
        """The stored bytes, in chunks; :class:`StoredFileMissing` if there are none."""

    @abstractmethod
    async def exists(self, key: str) -> bool:
        """Whether something is stored under ``key``."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Forget ``key``; nothing stored there is no error."""

    @abstractmethod
    def listing(self, prefix: str) -> AsyncIterator[StoredObject]:
        """Every complete file whose key starts with ``prefix`` (a key Portico makes,
        ending in ``/``), in no particular order."""

    @abstractmethod
    async def forget_partials(self, before: datetime) -> int:
        """Delete what writes that never finished (a process killed mid-upload) left
        before ``before``; how many there were."""
