"""Alembic environment: runs the migrations on the configured database (async engines)."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import models
from services.db import WRITE_OPTIONS, create_engine, set_sqlite_foreign_keys
from services.planner_stats import refresh_planner_statistics

config = context.config
target_metadata = models.metadata()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        # new indexes have no statistics yet (services.planner_stats)
        refresh_planner_statistics(connection, after_migration=True)


async def _run_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        async with engine.connect() as connection:
            # SQLite: no cascading deletes while batch mode rebuilds tables
            await connection.run_sync(set_sqlite_foreign_keys, False)
            await connection.execution_options(**WRITE_OPTIONS)  # SQLite: BEGIN IMMEDIATE
            async with connection.begin():  # committed when the migrations ran
                await connection.run_sync(_run)
    finally:
        await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_online())
