"""The committed SDL of each standard profile matches what the code builds, so every
permission change shows up as a reviewable diff under schema/sdl/."""

from pathlib import Path

import pytest

from auth.profiles import STANDARD_PROFILES
from schema.registry import build_profile_schema

SDL_DIR = Path(__file__).resolve().parents[2] / "schema" / "sdl"


@pytest.mark.parametrize("name", list(STANDARD_PROFILES))
def test_committed_sdl_matches_the_profile_schema(name):
    committed = (SDL_DIR / f"{name}.graphql").read_text()
    built = build_profile_schema(STANDARD_PROFILES[name]).as_str() + "\n"
    assert committed == built, (
        f"schema/sdl/{name}.graphql is out of date: review the change, then run "
        "`portico schema --write-all`"
    )


def test_every_committed_sdl_is_a_standard_profile():
    assert {path.stem for path in SDL_DIR.glob("*.graphql")} == set(STANDARD_PROFILES)


def test_staff_admin_sdl_shows_the_permission_directives():
    sdl = (SDL_DIR / "staff-admin.graphql").read_text()
    assert "privateNotes: String @requires(permission: INTERNAL_READ)" in sdl
    assert "@requires(permission: INVOICES_READ, module: INVOICES)" in sdl
