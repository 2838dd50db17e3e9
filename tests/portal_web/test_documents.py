"""Every document beside a portal template is a valid query for the visitor it is for:
the billing contact (who sees every money screen) or, before sign-in, anyone. A field
renamed in the API fails here, not as a page that quietly stops existing."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_ast_schema, parse, validate

from server.portal_web.documents import PAGES

SDL = Path(__file__).parents[2] / "schema" / "sdl"


def snapshot(profile: str) -> GraphQLSchema:
    return build_ast_schema(
        parse((SDL / f"{profile}.graphql").read_text(encoding="utf-8")), assume_valid_sdl=True
    )


SCHEMAS = {profile: snapshot(profile) for profile in ("contact-billing", "anonymous")}


@pytest.mark.parametrize("name", sorted(path.stem for path in PAGES.glob("*.graphql")))
def test_the_document_is_valid_for_its_visitor(name: str) -> None:
    document = parse((PAGES / f"{name}.graphql").read_text(encoding="utf-8"))
    errors = {profile: validate(schema, document) for profile, schema in SCHEMAS.items()}
    assert any(not found for found in errors.values()), {
        profile: [error.message for error in found] for profile, found in errors.items()
    }
