"""The ``portico`` command: serve, migrate, demo, create-admin, schema, run-scheduler,
stripe-sync."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server import reuse_port
from server.settings import ConfigurationError, get_settings
from services.config import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from server.scheduler import RecurringScheduler
    from services.runtime import Runtime

SDL_DIR = Path(__file__).resolve().parent.parent / "schema" / "sdl"


def served_settings(settings: Settings, host: str, port: int) -> Settings:
    """``settings`` whose links point at ``host:port`` unless ``PORTICO_PUBLIC_BASE_URL``
    is set (a wildcard host is reached through the loopback address)."""
    if settings.public_base_url_is_set:
        return settings
    reachable = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    if ":" in reachable and not reachable.startswith("["):
        reachable = f"[{reachable}]"  # an IPv6 address in a URL
    return settings.model_copy(update={"public_base_url": f"http://{reachable}:{port}"})


@contextlib.asynccontextmanager
async def _runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The runtime of one command: its engine is disposed at the end, after the mail
    its changes queued has been delivered (what cannot be is sent at the next start)."""
    from services.db import create_engine
    from services.runtime import Runtime

    engine = create_engine(settings.database_url)
    runtime = Runtime.build(settings, engine)
    try:
        yield runtime
        await runtime.mailer.drain()
        await runtime.events.relay_once()  # number its events; running servers hear of them
    finally:
        await runtime.mailer.close()
        await engine.dispose()


def _database_problem(database_url: str) -> str | None:
    """Why ``portico serve`` must not start on this database, or None."""
    from sqlalchemy.engine import make_url

    from server.migrate import NOT_MIGRATED_HINT, is_migrated
    from services.db import create_engine

    async def check() -> bool:
        engine = create_engine(database_url)
        try:
            return await is_migrated(engine)
        finally:
            await engine.dispose()

    shown = make_url(database_url).render_as_string(hide_password=True)
    try:
        migrated = asyncio.run(check())
    except Exception as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return f"cannot reach the database {shown} (PORTICO_DATABASE_URL): {reason}"
    if not migrated:
        return f"the database {shown} is not migrated: {NOT_MIGRATED_HINT} first"
    return None


WS_PROTOCOL = "server.ws_transport:PorticoWebSocketProtocol"
"""What ``portico serve`` speaks WebSocket with (uvicorn's ``--ws``)."""


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app
    from server.logging import configure_logging

    settings = served_settings(get_settings(), args.host, args.port)
    problem = _database_problem(settings.database_url)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, json=settings.log_json)
    workers = max(1, args.workers)
    if workers > 1:
        # Each worker process imports the app itself (served_app), so what served_settings
        # decided travels in the environment.
        os.environ.setdefault("PORTICO_PUBLIC_BASE_URL", settings.public_base_url)
    if workers > 1 and reuse_port.supported():
        return _serve_workers(workers, args.host, args.port, settings)
    uvicorn.run(
        create_app(settings) if workers == 1 else "server.cli:served_app",
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=args.host,
        port=args.port,
        log_level="info",
        **serve_options(settings),
    )
    return 0


def _serve_workers(workers: int, host: str, port: int, settings: Settings) -> int:
    """``uvicorn.run(..., workers=N)``, with a listening socket per worker (see
    :mod:`server.reuse_port`)."""
    import logging

    import uvicorn

    config = uvicorn.Config(
        "server.cli:served_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        **serve_options(settings),
    )
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d with %d workers, each listening (Press CTRL+C to quit)",
        host,
        port,
        workers,
    )
    try:
        reuse_port.run_workers(config)
    except OSError as error:
        print(f"error: cannot listen on {host}:{port}: {error}", file=sys.stderr)
        return 1
    return 0


def serve_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options ``portico serve`` runs the app with (and the tests that serve
    it on a real socket)."""
    return {
        # X-Forwarded-For is believed only from PORTICO_TRUSTED_PROXIES, inside the app
        # (server.proxies); uvicorn's own default would trust any proxy on 127.0.0.1.
        "proxy_headers": False,
        # A WebSocket message is bounded like a request body.
        "ws_max_size": settings.max_body_bytes,
        # No permessage-deflate: its zlib streams are some 40 KB a socket (browsers and
        # most clients offer it), more than the rest of an idle subscription, to
        # compress event frames of a few hundred bytes.
        "ws_per_message_deflate": False,
        # uvicorn's default WebSocket protocol, writing event frames itself and handing
        # /graphql's messages to the protocol handlers from its callbacks
        # (server.ws_transport)
        "ws": WS_PROTOCOL,
    }


def served_app() -> Starlette:
    """The app of one of ``portico serve --workers N``'s worker processes (uvicorn
    imports it there: each worker has its own engine, caches and event loop)."""
    from server.app import create_app
    from server.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return create_app(settings)


def _migrate(_args: argparse.Namespace) -> int:
    from server.migrate import upgrade

    upgrade(get_settings().database_url)
    print("Database is up to date.")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from services.demo import DEMO_PASSWORD, seed_demo
    from services.unit_of_work import unit_of_work

    async def run() -> list[tuple[str, str]]:
        async with _runtime(get_settings()) as runtime, unit_of_work(runtime) as work:
            created, logins = await seed_demo(work, only_if_empty=args.if_empty)
        if not created:
            print("The demo account already exists; nothing was changed.")
        return logins

    logins = asyncio.run(run())
    if logins:
        print(f"Demo account 'demo'. Sign in with (staff password: {DEMO_PASSWORD}):")
        for email, role in logins:
            print(f"  {role:<22} {email}")
    return 0


def _create_admin(args: argparse.Namespace) -> int:
    from services.accounts import create_account_with_owner
    from services.errors import PorticoError
    from services.unit_of_work import unit_of_work

    password = args.password or getpass.getpass("Password for the new admin: ")

    async def run() -> None:
        async with _runtime(get_settings()) as runtime, unit_of_work(runtime) as work:
            await create_account_with_owner(
                work.session,
                account_name=args.account_name,
                slug=args.slug,
                email=args.email,
                name=args.name,
                password=password,
            )

    try:
        asyncio.run(run())
    except PorticoError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(f"Created account {args.slug!r} with owner {args.email}.")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from auth.profiles import STANDARD_PROFILES
    from schema.registry import build_profile_schema

    if args.write_all:
        SDL_DIR.mkdir(parents=True, exist_ok=True)
        for name, profile in STANDARD_PROFILES.items():
            (SDL_DIR / f"{name}.graphql").write_text(build_profile_schema(profile).as_str() + "\n")
        print(f"Wrote {len(STANDARD_PROFILES)} profiles to {SDL_DIR}.")
        return 0
    if args.profile not in STANDARD_PROFILES:
        names = ", ".join(STANDARD_PROFILES)
        print(f"error: unknown profile {args.profile!r}; one of: {names}", file=sys.stderr)
        return 2
    print(build_profile_schema(STANDARD_PROFILES[args.profile]).as_str())
    return 0


def _run_scheduler(args: argparse.Namespace) -> int:
    from server.logging import configure_logging
    from server.scheduler import RecurringScheduler

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)

    async def run() -> None:
        async with _runtime(settings) as runtime:
            await _schedule(RecurringScheduler.from_runtime(runtime), once=args.once)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


async def _schedule(scheduler: RecurringScheduler, *, once: bool) -> None:
    try:
        if once:
            result = await scheduler.run_once()
            print(
                f"Issued {len(result.issued)} invoice(s) for {result.today.isoformat()}"
                f" ({len(result.to_charge)} to charge automatically,"
                f" {len(result.failed) + len(result.conflicts)} schedule(s) failed)."
            )
            return
        await scheduler.start()
        await asyncio.Event().wait()  # until interrupted
    finally:
        await scheduler.stop()


def _stripe_sync(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from server.logging import configure_logging
    from services.errors import PorticoError
    from services.stripe_gateway.sync import SyncReport, sync_accounts

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            print(f"error: --since {args.since!r} is not an ISO date or datetime", file=sys.stderr)
            return 2
        since = since if since.tzinfo else since.replace(tzinfo=UTC)

    async def run() -> list[SyncReport]:
        async with _runtime(settings) as runtime:
            return await sync_accounts(
                runtime, slug=args.account, since=since, window=timedelta(hours=args.hours)
            )

    try:
        reports = asyncio.run(run())
    except PorticoError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    if not reports:
        print(
            "No account has Stripe connected."
            if not args.account
            else "No such account with Stripe connected."
        )
        return 2 if args.account else 0
    for report in reports:
        counts = ", ".join(f"{n} {what}" for what, n in sorted(report.outcomes.items()))
        print(
            f"{report.slug}: {report.listed} event(s) since {report.since.isoformat()}"
            f"{' (' + counts + ')' if counts else ''}"
            f"{f', {report.deferred} to retry' if report.deferred else ''}"
            f"{f', {report.failed} failed' if report.failed else ''}."
        )
    return 1 if any(report.failed for report in reports) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portico", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve /graphql on uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (uvicorn's --workers; each has its own engine and caches)",
    )
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(run=_migrate)

    demo = commands.add_parser("demo", help="create the demo account (idempotent)")
    demo.add_argument(
        "--if-empty", action="store_true", help="only when the database has no account at all"
    )
    demo.set_defaults(run=_demo)

    admin = commands.add_parser("create-admin", help="create an account and its first admin")
    admin.add_argument("--account-name", required=True)
    admin.add_argument("--slug", required=True)
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Owner")
    admin.add_argument("--password", help="prompted for when omitted")
    admin.set_defaults(run=_create_admin)

    schema = commands.add_parser("schema", help="print the SDL one profile sees")
    chosen = schema.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--profile", help="e.g. staff-admin, contact-billing")
    chosen.add_argument(
        "--write-all",
        action="store_true",
        help="rewrite the committed SDL of every standard profile",
    )
    schema.set_defaults(run=_schema)

    scheduler = commands.add_parser(
        "run-scheduler", help="issue due recurring invoices (every instance may run it)"
    )
    scheduler.add_argument("--once", action="store_true", help="one run, then exit")
    scheduler.set_defaults(run=_run_scheduler)

    sync = commands.add_parser(
        "stripe-sync",
        help="handle the Stripe events missed while the server was down (idempotent)",
    )
    sync.add_argument("--account", help="one account's slug (default: every connected one)")
    sync.add_argument(
        "--hours",
        type=float,
        default=72,
        help="how far back to list (default 72; further when the last stored event is older)",
    )
    sync.add_argument("--since", help="list from this ISO date/time instead (UTC if no zone)")
    sync.set_defaults(run=_stripe_sync)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
