"""Fuzzing (issue 14): queries and mutations generated from each standard profile's SDL
(``schema/sdl/``, by hypothesis-graphql) against the running app, as a caller of that
profile. Every answer must be safe whatever was asked:

- no HTTP 500, and no stack trace anywhere in the body;
- JSON with nothing outside ``data``, ``errors`` and ``extensions``; every error with an
  ``extensions.code``, and none ``INTERNAL_SERVER_ERROR`` (a masked crash is still a
  crash) nor ``GRAPHQL_VALIDATION_FAILED`` (a document valid against the committed SDL
  must be valid for a caller of that profile: the live schema has exactly its fields);
- no id of another account. Two accounts are seeded alike (the demo data set, twice);
  the callers belong to the second, and the fuzzer's ``ID`` arguments are drawn from both
  accounts' ids (and random ones), so it tries the other account's rows directly. An id of
  the other account in an answer fails the test unless the document itself carried it
  (an error may quote its input).

Each profile's run starts from its own copy of the seeded database, so one profile's
mutations cannot change what another may see. A few mutations are left out (see
``LEFT_OUT``): those that end the caller's own credential (every later example would
only be refused) and those that reach the network (Stripe, a webhook URL's DNS).

SQLite only: fuzzing exercises the schema, resolvers and scoping, which are the same on
both backends (access rules are SQL the app builds, not database features); the
backend-specific paths (locking, concurrency) have their own tests on both. One backend
keeps the run within its time budget (about a minute, in ``make test``).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import graphql
import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries
from sqlalchemy import text
from sqlmodel import col, select

import models
from auth.principals import StaffPrincipal
from auth.profiles import STANDARD_PROFILES, profile_for
from models.accounts import Account, StaffUser
from models.clients import Client, Contact
from models.enums import ContactRole, Module, StaffRole
from server.app import create_app
from services import sessions
from services.api_tokens import create_api_token
from services.config import Settings
from services.db import create_engine
from services.demo import DEMO_SLUG, seed_demo
from services.portal.sessions import start_contact_session
from services.portal.view_as import view_as_contact
from services.runtime import Runtime
from services.unit_of_work import UnitOfWork, begin_write
from tests.conftest import SECRET

T = TypeVar("T")

SDL = Path(__file__).resolve().parents[2] / "schema" / "sdl"

EXAMPLES_PER_PROFILE = 50
"""Generated documents per profile (queries and mutations mixed): 12 profiles of this
many keep the file at about a minute on the project's two-core machine."""

LEFT_OUT = frozenset(
    {
        "signOut",  # ends the caller's own session
        "revokeSession",
        "revokeApiToken",
        "connectStripe",  # calls Stripe's API
        "createWebhook",  # resolves the URL's host
        "updateWebhook",
    }
)

FOREIGN_SLUG = "other"
"""The first seeded account, renamed: the callers never belong to it."""

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
TRACE_MARKERS = ("traceback", 'file "', "stacktrace", "most recent call last")


@dataclass(frozen=True)
class World:
    """The seeded database (copied for each profile) and who calls as what."""

    database: Path
    uploads: Path
    tokens: dict[str, str | None]
    own_ids: tuple[str, ...]
    foreign_ids: frozenset[uuid.UUID]
    recurring_client_id: uuid.UUID


def _settings(database: Path, uploads: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{database}",
        secret_key=SECRET,
        public_base_url="http://portal.test",
        scheduler_enabled=False,
        upload_dir=uploads,
    )


@asynccontextmanager
async def _runtime(database: Path, uploads: Path) -> AsyncIterator[Runtime]:
    settings = _settings(database, uploads)
    runtime = Runtime.build(settings, create_engine(settings.database_url))
    try:
        yield runtime
    finally:
        await runtime.events.stop()
        await runtime.mailer.close()
        await runtime.engine.dispose()


async def _seed_twice(runtime: Runtime) -> None:
    """The demo account, renamed out of the way (slug, staff emails), then a second one."""
    for round_ in range(2):
        async with runtime.sessions() as session:
            await begin_write(session)
            created, _logins = await seed_demo(UnitOfWork(session=session, runtime=runtime))
            assert created
            await session.commit()
        if round_ == 0:
            async with runtime.engine.begin() as connection:
                await connection.execute(
                    text("UPDATE account SET slug = :slug WHERE slug = :demo"),
                    {"slug": FOREIGN_SLUG, "demo": DEMO_SLUG},
                )
                await connection.execute(text("UPDATE staff_user SET email = 'other-' || email"))


async def _ids_of(runtime: Runtime, account_id: uuid.UUID) -> list[uuid.UUID]:
    """Every id of a row that belongs to the account (and the account's own)."""
    ids = [account_id]
    async with runtime.engine.connect() as connection:
        for table in models.metadata().sorted_tables:
            if "id" in table.c and "account_id" in table.c:
                rows = await connection.execute(
                    select(table.c.id).where(table.c.account_id == account_id)
                )
                ids.extend(row[0] for row in rows)
    return ids


async def _tokens(runtime: Runtime, account: Account) -> tuple[dict[str, str | None], uuid.UUID]:
    """A token for every standard profile, all in ``account``; and the client whose
    portal the recurring-only profile narrows (in that profile's own copy)."""
    tokens: dict[str, str | None] = {"anonymous": None}
    async with runtime.sessions() as session:
        await begin_write(session)
        staff = (
            await session.exec(select(StaffUser).where(StaffUser.account_id == account.id))
        ).all()
        principals: dict[StaffRole, StaffPrincipal] = {}
        for user in staff:
            token = await sessions.open_staff_session(
                session=session, signer=runtime.signer, user_id=user.id, ttl=runtime.session_ttl
            )
            tokens[f"staff-{user.role.value.lower()}"] = token
            principal = await sessions.authenticate(
                session=session, signer=runtime.signer, token=token, max_age_seconds=3600
            )
            assert isinstance(principal, StaffPrincipal)
            principals[user.role] = principal
        acme = (
            await session.exec(
                select(Client).where(
                    Client.account_id == account.id, col(Client.name).startswith("Acme")
                )
            )
        ).one()
        contacts = (await session.exec(select(Contact).where(Contact.client_id == acme.id))).all()
        by_role = {contact.role: contact for contact in contacts}
        for role in ContactRole:
            tokens[f"contact-{role.value.lower()}"] = await start_contact_session(
                session=session,
                signer=runtime.signer,
                contact=by_role[role],
                ttl=runtime.session_ttl,
            )
        billing = by_role[ContactRole.BILLING]
        tokens["contact-billing-readonly"] = await view_as_contact(
            session=session,
            signer=runtime.signer,
            actor=principals[StaffRole.ADMIN],
            contact_id=billing.id,
        )
        # Acme pays its recurring invoice automatically: with its portal narrowed to
        # recurring invoices (in that profile's copy), that is all its billing contact sees.
        tokens["contact-billing-recurring-only"] = await start_contact_session(
            session=session, signer=runtime.signer, contact=billing, ttl=runtime.session_ttl
        )
        for name in ("partner-invoices", "partner-all"):
            _row, token = await create_api_token(
                session=session,
                actor=principals[StaffRole.OWNER],
                name=name,
                scopes=sorted(STANDARD_PROFILES[name].scopes),
            )
            tokens[name] = token
        await session.commit()
    return tokens, acme.id


async def _build_world(directory: Path, template: Path) -> World:
    database = directory / "seeded.sqlite3"
    uploads = directory / "uploads"
    shutil.copy(template, database)
    async with _runtime(database, uploads) as runtime:
        await _seed_twice(runtime)
        async with runtime.sessions() as session:
            accounts = {a.slug: a for a in (await session.exec(select(Account))).all()}
        ours, theirs = accounts[DEMO_SLUG], accounts[FOREIGN_SLUG]
        tokens, recurring_client_id = await _tokens(runtime, ours)
        own = await _ids_of(runtime, ours.id)
        foreign = await _ids_of(runtime, theirs.id)
    assert set(tokens) == set(STANDARD_PROFILES)
    return World(
        database=database,
        uploads=uploads,
        tokens=tokens,
        own_ids=tuple(str(i) for i in own),
        foreign_ids=frozenset(foreign),
        recurring_client_id=recurring_client_id,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> World:
    return asyncio.run(_build_world(tmp_path_factory.mktemp("fuzz"), sqlite_template))


# --- generated values --------------------------------------------------------------------


def _string(value: str) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=value)


def _scalars(world: World) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Values the scalars accept, mostly (so that documents get past input checks and
    reach the data), and some they refuse. Ids: the caller's own rows, the other
    account's, and unknown ones."""
    foreign = sorted(str(i) for i in world.foreign_ids)
    ids = st.one_of(
        st.sampled_from(world.own_ids),
        st.sampled_from(world.own_ids),
        st.sampled_from(foreign),
        st.uuids().map(str),
    )
    dates = st.dates(date(1900, 1, 1), date(2999, 12, 31)).map(date.isoformat)
    moments = st.datetimes(
        datetime(1970, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
        datetime(2999, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ).map(lambda moment: moment.isoformat())
    amounts = st.decimals(-(10**6), 10**6, places=2, allow_nan=False).map(str)
    junk = st.text(max_size=12)
    words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30)
    counts = st.one_of(st.integers(0, 30), st.integers(0, 30), st.integers(-(2**31), 2**31 - 1))
    return {
        "ID": ids.map(_string),
        "Date": st.one_of(dates, dates, dates, junk).map(_string),
        "DateTime": st.one_of(moments, moments, moments, junk).map(_string),
        "Decimal": st.one_of(amounts, amounts, amounts, junk).map(_string),
        "String": st.one_of(words, words, words, junk).map(_string),
        "Int": counts.map(lambda number: graphql.IntValueNode(value=str(number))),
    }


def _takes_upload(field: graphql.GraphQLField) -> bool:
    """Whether a field's arguments reach the ``Upload`` scalar (sent as multipart, which
    the generator does not do; tests/schema/test_documents.py covers uploads)."""
    seen: set[str] = set()

    def reaches(type_: graphql.GraphQLInputType) -> bool:
        named = graphql.get_named_type(type_)
        if named.name in seen:
            return False
        seen.add(named.name)
        if isinstance(named, graphql.GraphQLInputObjectType):
            return any(reaches(child.type) for child in named.fields.values())
        return named.name == "Upload"

    return any(reaches(argument.type) for argument in field.args.values())


def _documents(world: World, sdl: str) -> st.SearchStrategy[str]:
    """Documents of one root field each (with several, one failing non-null field
    nulls the whole answer, hiding what the others would have shown)."""
    scalars = _scalars(world)
    schema = graphql.build_schema(sdl, assume_valid_sdl=True)  # @requires repeats
    assert schema.query_type is not None
    query_fields = sorted(schema.query_type.fields)
    strategies = [
        st.sampled_from(query_fields).flatmap(
            lambda name: queries(schema, fields=[name], custom_scalars=scalars)
        )
    ]
    if schema.mutation_type is not None:
        fields = schema.mutation_type.fields
        allowed = sorted(
            name
            for name, field in fields.items()
            if name not in LEFT_OUT and not _takes_upload(field)
        )
        if allowed:
            strategies.append(
                st.sampled_from(allowed).flatmap(
                    lambda name: mutations(schema, fields=[name], custom_scalars=scalars)
                )
            )
    return st.one_of(strategies)


# --- the checks --------------------------------------------------------------------------


def check_answer(world: World, document: str, response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    lowered = response.text.lower()
    for marker in TRACE_MARKERS:
        assert marker not in lowered, response.text
    body = orjson.loads(response.content)
    assert isinstance(body, dict), body
    assert set(body) <= {"data", "errors", "extensions"}, body
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, str), error
        assert code, error
        assert code not in ("INTERNAL_SERVER_ERROR", "GRAPHQL_VALIDATION_FAILED"), error
    asked = {uuid.UUID(found) for found in _UUID.findall(document)}
    seen = {uuid.UUID(found) for found in _UUID.findall(response.text)}
    leaked = (seen & world.foreign_ids) - asked
    assert not leaked, f"ids of another account: {sorted(map(str, leaked))}\n{response.text}"


@pytest.fixture
def copy_of(world: World, tmp_path: Path) -> Path:
    database = tmp_path / "fuzz.sqlite3"
    shutil.copy(world.database, database)
    return database


@contextmanager
def _running_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop that runs on its own thread for the whole test, as a server's does:
    what a request leaves running (mail, events) goes on between examples."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _on(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)


@pytest.mark.parametrize("profile_name", sorted(STANDARD_PROFILES))
def test_generated_operations_answer_safely(profile_name: str, world: World, copy_of: Path):
    sdl = (SDL / f"{profile_name}.graphql").read_text()
    documents = _documents(world, sdl)
    token = world.tokens[profile_name]
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    with _running_loop() as loop:
        client, close = _on(loop, _open(world, copy_of, profile_name, token))
        try:

            @settings(
                max_examples=EXAMPLES_PER_PROFILE,
                deadline=None,
                database=None,
                suppress_health_check=[
                    HealthCheck.too_slow,
                    HealthCheck.data_too_large,
                    HealthCheck.function_scoped_fixture,
                ],
            )
            @given(document=documents)
            def run(document: str) -> None:
                note(f"{profile_name}:\n{document}")
                response = _on(
                    loop, client.post("/graphql", json={"query": document}, headers=headers)
                )
                check_answer(world, document, response)

            run()
        finally:
            _on(loop, close())


async def _open(world: World, database: Path, profile_name: str, token: str | None) -> Any:
    """The app on the profile's copy, and a check that the token has that profile."""
    settings_ = _settings(database, world.uploads)
    runtime = Runtime.build(settings_, create_engine(settings_.database_url))
    if profile_name == "contact-billing-recurring-only":
        async with runtime.sessions() as session:
            await begin_write(session)
            narrowed = await session.get(Client, world.recurring_client_id)
            assert narrowed is not None
            narrowed.modules = [Module.RECURRING_INVOICES.value]
            await session.commit()
    if token is not None:
        async with runtime.sessions() as session:
            principal = await sessions.authenticate(
                session=session, signer=runtime.signer, token=token, max_age_seconds=3600
            )
            await session.commit()
        assert profile_for(principal) == STANDARD_PROFILES[profile_name]
    transport = httpx.ASGITransport(app=create_app(runtime=runtime), client=("203.0.113.7", 5))
    client = httpx.AsyncClient(transport=transport, base_url="http://portal.test")

    async def close() -> None:
        await client.aclose()
        await runtime.events.stop()
        await runtime.mailer.close()
        await runtime.engine.dispose()

    return client, close
