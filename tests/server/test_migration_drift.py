"""The migrated database is the one the models describe, on SQLite and PostgreSQL.

A model changed without a migration (or a migration that builds something else) passes
every test that creates rows through the models, and breaks only on a real upgraded
database. Alembic's autogenerate comparison of the migrated schema against the models'
metadata must find nothing to do.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models
from services.db import create_engine


def _drift(connection: Any) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": False}
    )
    differences: list[Any] = compare_metadata(context, models.metadata())
    return differences


async def test_the_migrated_schema_matches_the_models(backend):
    engine = create_engine(backend.url, **backend.engine_kwargs)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_drift)
    finally:
        await engine.dispose()
    assert differences == []
