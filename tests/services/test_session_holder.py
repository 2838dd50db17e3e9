"""A bearer token's session and holder are read in one statement of plain columns
(services.sessions.session_holder); the staff user, client and account handed on to the
request's resolvers are ORM rows built from them, which must behave as if queried: the
session's own, with nothing pending, changes saved, and never stale for a decision."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlmodel import col

from auth.principals import ContactPrincipal
from models.accounts import Account, StaffUser
from models.clients import Client
from models.enums import StaffRole
from services import sessions
from services.errors import Unauthenticated
from services.runtime import Runtime
from tests.portal.helpers import contact_token, make_client


@contextmanager
def statements(runtime: Runtime) -> Iterator[list[str]]:
    """The SQL statements run on ``runtime``'s engine meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def identify(runtime: Runtime, session: Any, token: str) -> sessions.SessionHolder:
    _principal, holder = await sessions.identify(
        session=session, signer=runtime.signer, token=token, max_age_seconds=3600
    )
    assert holder is not None
    return holder


async def test_the_staff_user_is_the_sessions_own_row(runtime: Runtime, tenant: Any) -> None:
    async with runtime.sessions() as session:
        await identify(runtime, session, tenant.admin)  # the first one touches lastSeenAt
        holder = await identify(runtime, session, tenant.admin)
        user = holder.staff_user
        assert isinstance(user, StaffUser)
        assert user.role is StaffRole.ADMIN
        assert user.email == "admin@acme.test"
        with statements(runtime) as seen:
            assert await session.get(StaffUser, user.id) is user
        assert seen == []
        assert not session.dirty
        assert not session.new
        user.name = "Renamed Admin"
        await session.commit()
    async with runtime.sessions() as session:
        stored = await session.get(StaffUser, user.id)
        assert stored is not None
        assert stored.name == "Renamed Admin"


async def test_a_row_the_session_holds_is_used_and_filled_in(runtime: Runtime, tenant: Any) -> None:
    async with runtime.sessions() as session:
        held = await session.get(StaffUser, tenant.principals[StaffRole.ADMIN].user_id)
        assert held is not None
        session.expire(held, ["name"])
        holder = await identify(runtime, session, tenant.admin)
        assert holder.staff_user is held
        with statements(runtime) as seen:
            assert held.name == "Admin User"  # read with the holder, not loaded now
        assert seen == []


async def test_a_user_deactivated_meanwhile_is_refused_though_its_row_is_held(
    runtime: Runtime, tenant: Any
) -> None:
    user_id = tenant.principals[StaffRole.ADMIN].user_id
    async with runtime.sessions() as session:
        held = await session.get(StaffUser, user_id)
        assert held is not None
        assert held.is_active
        await session.commit()  # the row stays loaded; the next read sees others' commits
        async with runtime.sessions() as other:
            await other.exec(
                update(StaffUser).where(col(StaffUser.id) == user_id).values(is_active=False)
            )
            await other.commit()
        with pytest.raises(Unauthenticated):
            await identify(runtime, session, tenant.admin)
        assert held.is_active  # the row it held was not what decided


async def test_a_contacts_client_and_account_are_the_sessions_own_rows(
    runtime: Runtime, tenant: Any, gql: Any
) -> None:
    created = await make_client(gql, tenant.admin)
    token = await contact_token(gql, tenant.admin, created["contacts"][0]["id"])
    async with runtime.sessions() as session:
        holder = await identify(runtime, session, token)
        client, account = holder.client, holder.account
        assert isinstance(client, Client)
        assert client.name == "Smith & Co"
        assert isinstance(account, Account)
        assert account.slug == "acme"
        assert isinstance(holder.principal, ContactPrincipal)
        assert holder.principal.client_id == client.id
        with statements(runtime) as seen:
            assert await session.get(Client, client.id) is client
            assert await session.get(Account, account.id) is account
        assert seen == []
        assert not session.dirty
        assert not session.new
