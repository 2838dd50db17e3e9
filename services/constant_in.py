"""``column IN (a, b, c)`` for a fixed set of values, with a bound parameter each.

SQLAlchemy's ``column.in_(values)`` binds the list as one *expanding* parameter: the
statement is compiled (and cached) with a placeholder, and every execution renders the
final SQL again for the list it is given (``_process_parameters_for_postcompile``,
about a tenth of a millisecond a statement here). That is what a list of the caller's
choosing needs; a fixed set of statuses does not. :func:`one_of` binds each value on its
own, so the cached statement is sent as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, bindparam


def one_of(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN (...)`` for ``values`` that are constants of the code (never a list
    a caller chose: its length would make a statement each)."""
    condition: ColumnElement[bool] = column.in_(_binds(column, values, "one_of"))
    return condition


def none_of(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column NOT IN (...)``, as :func:`one_of` binds it (a contact's scope hides
    draft documents with it, in every statement of every contact request)."""
    condition: ColumnElement[bool] = column.not_in(_binds(column, values, "none_of"))
    return condition


def _binds(column: Any, values: Iterable[Any], name: str) -> list[Any]:
    fixed = list(values)
    if not fixed:
        raise ValueError(f"{name} needs at least one value")
    return [bindparam(None, value, type_=column.type) for value in fixed]
