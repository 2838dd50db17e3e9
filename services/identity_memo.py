"""Answers worked out once per document: memoised by the identity of immutable objects.

A parsed GraphQL document never changes, and the parse cache hands out the same tree for
the same text, so whatever is worked out from its nodes alone (the columns a selection
reads, whether its literals are clean) holds for every request that sends it again.
graphql-core's nodes hash and compare by value, walking the whole subtree each time, so
they are kept here by ``id()``: an entry holds its objects, so no other object can take
their ids while it is kept, and a hit is confirmed object by object.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

R = TypeVar("R")


class IdentityMemo(Generic[R]):
    """Up to ``maxsize`` answers (least recently used dropped first), by the identity of
    the objects they were worked out from."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._kept: OrderedDict[tuple[Hashable, tuple[int, ...]], tuple[tuple[object, ...], R]] = (
            OrderedDict()
        )

    def get(
        self, objects: tuple[object, ...], compute: Callable[[], R], also: Hashable = None
    ) -> R:
        """The answer for ``objects`` (and ``also``, a value the answer depends on too,
        compared by equality): kept, or ``compute()`` kept from now on."""
        key = (also, tuple(map(id, objects)))
        kept = self._kept.get(key)
        if kept is not None and all(a is b for a, b in zip(kept[0], objects, strict=True)):
            self._kept.move_to_end(key)
            return kept[1]
        answer = compute()
        self._kept[key] = (objects, answer)
        if len(self._kept) > self.maxsize:
            self._kept.popitem(last=False)
        return answer

    def __len__(self) -> int:
        return len(self._kept)
