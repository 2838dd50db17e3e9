"""Short ways to declare fields: permissions, ids and money formatted per currency."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import strawberry

from auth.policy import Permission
from models.enums import Module
from schema.directives import Public, Requires
from services.money import round_money, round_money_quanta

QUANTA = round_money_quanta()
"""Each currency's minor unit, for :func:`money`'s resolvers: ``round_money`` in line
(1,200 amounts on a page of 100 invoices and their lines)."""


def _directives(permission: Permission | None, module: Module | None) -> list[object]:
    if permission is None and module is None:
        return []
    return [
        Requires(
            permission=strawberry.UNSET if permission is None else permission,
            module=strawberry.UNSET if module is None else module,
        )
    ]


def field(
    description: str,
    *,
    permission: Permission | None = None,
    module: Module | None = None,
    resolver: Any = None,
    **kwargs: Any,
) -> Any:
    """A field with a description and, when given, its ``@requires`` rule."""
    return strawberry.field(
        description=description,
        directives=_directives(permission, module),
        resolver=resolver,
        **kwargs,
    )


def public_field(description: str, *, resolver: Any = None, **kwargs: Any) -> Any:
    return strawberry.field(
        description=description, directives=[Public()], resolver=resolver, **kwargs
    )


def mutation(
    description: str,
    *,
    permission: Permission | None = None,
    module: Module | None = None,
    resolver: Any = None,
) -> Any:
    return strawberry.mutation(
        description=description, directives=_directives(permission, module), resolver=resolver
    )


def public_mutation(description: str, *, resolver: Any = None) -> Any:
    return strawberry.mutation(description=description, directives=[Public()], resolver=resolver)


def _resolve_id(root: Any) -> strawberry.ID:
    return str(root.id)  # type: ignore[return-value] # an ID is a str (strawberry.ID is a NewType)


def id_field(description: str = "Unique, opaque identifier.") -> Any:
    return strawberry.field(description=description, resolver=_resolve_id)


def money(
    attribute: str,
    description: str,
    *,
    permission: Permission | None = None,
    module: Module | None = None,
    optional: bool = False,
) -> Any:
    """An amount read from ``attribute`` of the row and shown at its currency's precision
    (the row's ``currency``)."""

    def resolve(root: Any) -> Decimal:
        currency = root.currency
        quantum = QUANTA.get(currency)
        if quantum is None:
            return round_money(getattr(root, attribute), currency)
        amount: Decimal = getattr(root, attribute)
        return amount.quantize(quantum, rounding=ROUND_HALF_UP)

    def resolve_optional(root: Any) -> Decimal | None:
        value = getattr(root, attribute)
        return None if value is None else round_money(value, root.currency)

    return field(
        description,
        permission=permission,
        module=module,
        resolver=resolve_optional if optional else resolve,
    )
