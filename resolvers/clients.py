"""Clients and contacts: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid
from typing import Any

from models.clients import Client, Contact
from resolvers.common import atomic, caller, parse_id, staff
from resolvers.context import Info
from resolvers.views import ClientView
from services import access, clients
from services.errors import NotFound
from services.futures import Future, then
from services.pagination import Page
from services.portal import view_as


async def list_clients(
    info: Info,
    *,
    first: int | None,
    after: str | None,
    filters: clients.ClientFilter,
) -> Page[Client]:
    return await clients.list_clients(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def client(info: Info, id: str) -> Client:
    return await access.access_client(info.context.session, caller(info), parse_id(id))


def client_of(info: Info, client_id: uuid.UUID) -> Future[ClientView]:
    """The client of a row (a future of the request's loader, awaited by graphql-core
    without a task of its own: services.futures)."""
    return then(info.context.loaders.client_by_id.load(client_id), _found_client)


def clients_of(info: Info, rows: list[Any]) -> Future[list[ClientView | NotFound]]:
    """:func:`client_of` for a list of rows at once (one ``load_many`` of their
    ``client_id``: schema.direct_resolvers.batched); a row's missing client is its own
    error."""
    loaded = info.context.loaders.client_by_id.load_many([row.client_id for row in rows])
    return then(
        loaded,
        lambda done: [row if row is not None else NotFound("Client") for row in done.result()],
    )


def _found_client(done: Future[ClientView | None]) -> ClientView:
    row = done.result()
    if row is None:  # pragma: no cover - the parent row was scoped to the same client
        raise NotFound("Client")
    return row


async def contacts_of(info: Info, client_id: uuid.UUID) -> list[Contact]:
    return await info.context.loaders.contacts_by_client_id.load(client_id)


async def create_client(
    info: Info, data: clients.ClientData, contacts: list[clients.ContactData]
) -> Client:
    actor = staff(info)
    async with atomic(info) as work:
        return await clients.create_client(
            session=work.session, actor=actor, data=data, contacts=contacts
        )


async def update_client(info: Info, id: str, data: clients.ClientData) -> Client:
    actor = staff(info)
    async with atomic(info) as work:
        return await clients.update_client(
            session=work.session, actor=actor, client_id=parse_id(id), data=data
        )


async def archive_client(info: Info, id: str) -> Client:
    actor = staff(info)
    async with atomic(info) as work:
        return await clients.archive_client(
            session=work.session, actor=actor, client_id=parse_id(id)
        )


async def restore_client(info: Info, id: str) -> Client:
    actor = staff(info)
    async with atomic(info) as work:
        return await clients.restore_client(
            session=work.session, actor=actor, client_id=parse_id(id)
        )


async def create_contact(info: Info, client_id: str, data: clients.ContactData) -> Contact:
    actor = staff(info)
    async with atomic(info) as work:
        return await clients.create_contact(
            session=work.session,
            actor=actor,
            client_id=parse_id(client_id, field="clientId"),
            data=data,
        )


async def update_contact(info: Info, id: str, data: clients.ContactData) -> Contact:
    actor = staff(info)
    async with atomic(info) as work:
        return await clients.update_contact(
            session=work.session, actor=actor, contact_id=parse_id(id), data=data
        )


async def delete_contact(info: Info, id: str) -> str:
    actor = staff(info)
    async with atomic(info) as work:
        deleted = await clients.delete_contact(
            session=work.session, actor=actor, contact_id=parse_id(id)
        )
    return str(deleted)


async def view_as_contact(info: Info, contact_id: str) -> str:
    actor = staff(info)
    async with atomic(info) as work:
        return await view_as.view_as_contact(
            session=work.session,
            signer=info.context.runtime.signer,
            actor=actor,
            contact_id=parse_id(contact_id, field="contactId"),
        )
