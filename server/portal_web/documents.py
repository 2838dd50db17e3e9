"""The portal's GraphQL documents, each kept beside its page's template in ``pages/``,
and running them as the visitor: on the visitor's own profile schema, so a page shows
exactly what the API would show them and a page whose fields the profile lacks (a module
turned off, a collaborator's missing money fields) does not exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from graphql import parse, validate
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal
from resolvers.context import Context
from schema.errors import present
from schema.registry import SchemaRegistry
from services.runtime import Runtime

PAGES = Path(__file__).parent / "pages"


@cache
def document(name: str) -> str:
    """The text of ``pages/<name>.graphql``."""
    return (PAGES / f"{name}.graphql").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    message: str
    field: str | None = None


@dataclass(slots=True)
class Answer:
    data: dict[str, Any] | None
    failures: list[Failure] = field(default_factory=list)

    @property
    def codes(self) -> set[str]:
        return {failure.code for failure in self.failures}


class Documents:
    """Runs the portal's documents on the app's per-profile schemas."""

    def __init__(self, runtime: Runtime, registry: SchemaRegistry) -> None:
        self.runtime = runtime
        self.registry = registry
        self._valid: dict[tuple[int, str], bool] = {}

    def exists(self, principal: Principal, name: str) -> bool:
        """Whether document ``name`` is valid on the principal's schema (its page exists)."""
        schema = self.registry.for_principal(principal)
        key = (id(schema), name)
        valid = self._valid.get(key)
        if valid is None:
            errors = validate(schema._schema, parse(document(name)))
            valid = self._valid[key] = not errors
        return valid

    async def run(
        self,
        session: AsyncSession,
        principal: Principal,
        name: str,
        variables: dict[str, Any] | None = None,
        *,
        client_address: str = "unknown",
        request: Any = None,
    ) -> Answer:
        schema = self.registry.for_principal(principal)
        context = Context(
            self.runtime,
            session,
            principal=principal,
            client_address=client_address,
            request=request,
            schemas=self.registry,
        )
        result = await schema.execute(
            document(name), variable_values=variables or {}, context_value=context
        )
        failures = []
        for error in result.errors or ():
            shown = present(error)
            extensions = shown.extensions or {}
            failures.append(
                Failure(
                    code=str(extensions.get("code", "INTERNAL_SERVER_ERROR")),
                    message=shown.message,
                    field=str(extensions["field"]) if extensions.get("field") else None,
                )
            )
        return Answer(result.data, failures)
