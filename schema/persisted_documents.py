"""Registered documents: what an account's partner API tokens may run when the account
requires registered documents (``partnerDocuments: REGISTERED`` in
``updateAccountSettings``); :mod:`services.persisted_documents`.

A document is checked against the full partner schema (every scope, every module): it
must parse and validate for some partner token. A narrower token that runs it gets the
usual validation error for a field it may not see.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError, parse, validate

from auth.policy import PARTNER_SCOPES, Permission
from auth.profiles import ALL_MODULES, Profile, ProfileKind
from models.persisted_queries import PersistedQuery as PersistedQueryRow
from resolvers import persisted_documents as resolvers
from resolvers.context import Info
from schema.fields import field, mutation
from services.errors import BadInput
from services.persisted_documents import DocumentChecker

if TYPE_CHECKING:
    from schema.registry import SchemaRegistry

_ADMIN = Permission.ACCOUNT_ADMIN

FULL_PARTNER = Profile(ProfileKind.PARTNER, scopes=PARTNER_SCOPES, modules=ALL_MODULES)
"""The widest partner schema: a document valid on it can run for some token."""


def partner_document_checker(info: Info) -> DocumentChecker:
    """Checks a document against the full partner schema, with the app's schemas and
    limits (read off the request context: this module is part of the root types the
    registry assembles, so it does not import it)."""
    registry: SchemaRegistry = info.context.schemas

    def check(document: str) -> None:
        schema = registry.for_profile(FULL_PARTNER)
        try:
            parsed = parse(
                document, no_location=True, max_lexical_tokens=registry.limits.max_tokens
            )
        except GraphQLError as error:
            raise BadInput(error.message, field="document") from error
        errors = validate(schema._schema, parsed)
        if errors:
            schema.remove_field_suggestion(errors[0])
            raise BadInput(errors[0].message, field="document")

    return check


@strawberry.type(
    description="A document the account's partner API tokens may run when the account "
    "requires registered documents (`partnerDocuments: REGISTERED`)."
)
class PersistedQuery:
    sha256: str = field(
        "The sha256 of the document's exact text (lowercase hex): send it as "
        '`extensions: {"persistedQuery": {"version": 1, "sha256Hash": "…"}}` instead of '
        "the text."
    )
    name: str | None = field("What it is for.")
    document: str = field("The document's text.")
    created_at: datetime = field("When it was registered.")

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, PersistedQueryRow | PersistedQuery)


@strawberry.type
class PersistedQueryQuery:
    @field(
        "The documents registered for the account's partner tokens, newest first.",
        permission=_ADMIN,
    )
    async def persisted_queries(self, info: Info) -> list[PersistedQuery]:
        return await resolvers.persisted_query_list(info)  # type: ignore[return-value]


@strawberry.type
class PersistedQueryMutation:
    @mutation(
        "Register a document the account's partner tokens may run (it must validate for a "
        "partner); registering the same text again keeps it, renamed when `name` is given.",
        permission=_ADMIN,
    )
    async def register_persisted_query(
        self, info: Info, document: str, name: str | None = None
    ) -> PersistedQuery:
        return await resolvers.register_persisted_query(  # type: ignore[return-value]
            info, document, name, partner_document_checker(info)
        )

    @mutation("Remove a registered document (refused while a webhook uses it).", permission=_ADMIN)
    async def delete_persisted_query(self, info: Info, sha256: str) -> PersistedQuery:
        return await resolvers.delete_persisted_query(info, sha256)  # type: ignore[return-value]
