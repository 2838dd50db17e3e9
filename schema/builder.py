"""Builds the GraphQL schema (one per caller profile; see ``schema/profiles.py``)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.errors import ErrorCodes
from schema.root import Mutation, Query

CONFIG = StrawberryConfig(disable_field_suggestions=True)


class PorticoSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Errors are presented and logged by :class:`ErrorCodes`; nothing more here."""


def build_full_schema(**kwargs: Any) -> PorticoSchema:
    """Every type and field, whoever may see them (the admin's view, and the source the
    per-profile schemas are pruned from)."""
    return PorticoSchema(
        query=Query,
        mutation=Mutation,
        config=CONFIG,
        extensions=[ErrorCodes],
        **kwargs,
    )
