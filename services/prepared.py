"""Statements built once and run again: per caller, or with their values as parameters.

Building a statement is Python work on every request — each ``==`` and ``IN`` makes
expression objects, each ``select`` coerces its columns — and so is its cache key,
which SQLAlchemy walks the whole statement for before it finds the compiled SQL in its
cache. A dashboard's ten statements cost more to build than to run. A statement object
run again skips both (its cache key is memoised on it), so:

- a statement whose values are parameters is built once (:func:`once`): the session
  lookup by id, the loaders' ``IN`` over their batch of keys (an expanding parameter);
- a statement made of a caller's scope (:mod:`services.access`, which puts the
  caller's ids in the SQL) is built once per caller and arguments (:func:`per_caller`):
  a pure function of hashable arguments — the frozen principal, dates, filters as
  tuples — memoised in a bounded LRU. Same arguments, same statement: the scope cannot
  differ from the one built fresh.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

CALLERS = 256
"""Statements kept per builder (least recently used dropped first): callers and
argument sets that come back, such as a user reloading a page."""


def per_caller(builder: F) -> F:
    """Memoise ``builder`` (a pure function of hashable arguments) in an LRU of
    :data:`CALLERS` entries."""
    return lru_cache(maxsize=CALLERS)(builder)  # type: ignore[return-value]


def once(builder: F) -> F:
    """Memoise a builder without arguments (its statement's values are parameters)."""
    return lru_cache(maxsize=1)(builder)  # type: ignore[return-value]
