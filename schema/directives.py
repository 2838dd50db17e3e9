"""The schema directives that declare who may use a field.

``@requires(permission:, module:)`` names a permission from :mod:`auth.policy` and/or a
module that must be enabled; ``@public`` marks the few root fields an anonymous caller
may use. The per-profile schema builder reads them; they are printed in the SDL so a
reader of the schema sees each field's rule.
"""

from __future__ import annotations

import strawberry
from strawberry.schema_directive import Location

from auth.policy import Permission
from models.enums import Module

strawberry.enum(Permission, description="A permission a field may require (see auth/policy.py).")
strawberry.enum(Module, description="A module of Portico that an account can switch on or off.")


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="requires",
    description="The field exists only for callers holding `permission` while `module` is on.",
)
class Requires:
    permission: Permission | None = strawberry.UNSET
    module: Module | None = strawberry.UNSET


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="public",
    description="The field is open to anonymous callers.",
)
class Public:
    pass
