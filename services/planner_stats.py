"""Planner statistics, kept current: what lets the database pick the index a list needs.

SQLite keeps no statistics until ``ANALYZE`` runs, and without them it guesses: the same
invoice page that hand-written SQL reads in 9.5 ms after ``ANALYZE`` took 62 ms without
(issue 14, 10,000 invoices). So statistics are refreshed after every migration (new
indexes have none) and when the app starts (the data may have grown since).

On SQLite that is ``PRAGMA optimize`` under an ``analysis_limit`` (each index is sampled,
not read whole, so it costs milliseconds whatever the size). ``PRAGMA optimize`` looks
at every table only from SQLite 3.46 on (its ``0x10000`` flag); before, it considers
just the tables the connection has used, which on a fresh connection is none: there,
whenever no statistics exist yet, and after a migration (a new index has none), a
bounded ``ANALYZE`` does the work instead.

On PostgreSQL autovacuum keeps statistics current; after a migration the app's own
tables are analysed once (sampled, so cheap), by name so that other schemas sharing the
database are left alone.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

import models

ANALYSIS_LIMIT = 1000
"""Rows SQLite samples per index (``PRAGMA analysis_limit``): enough for the planner to
tell a selective index from a poor one."""

OPTIMIZE_ALL_TABLES = (3, 46, 0)
"""The first SQLite whose ``PRAGMA optimize=0x10002`` checks every table."""


def refresh_planner_statistics(connection: Connection, *, after_migration: bool) -> None:
    """Bring the planner's statistics up to date on ``connection`` (synchronous: call
    through ``run_sync``). PostgreSQL is analysed only ``after_migration``."""
    if connection.dialect.name == "sqlite":
        _sqlite(connection, analyze=after_migration)
    elif connection.dialect.name == "postgresql" and after_migration:
        present = set(inspect(connection).get_table_names())  # a partial upgrade has fewer
        names = [t.name for t in models.metadata().sorted_tables if t.name in present]
        if names:
            connection.execute(text("ANALYZE " + ", ".join(f'"{name}"' for name in names)))


def _sqlite(connection: Connection, *, analyze: bool) -> None:
    connection.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
    has_stats = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    if analyze or has_stats is None or sqlite3.sqlite_version_info < OPTIMIZE_ALL_TABLES:
        connection.exec_driver_sql("ANALYZE")
    else:
        connection.exec_driver_sql("PRAGMA optimize=0x10002")
