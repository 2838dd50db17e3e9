"""Clients with contacts and their sessions, for the dashboard and capabilities tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import select

from models.clients import Contact
from services.portal.sessions import start_contact_session

CREATE_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id role } } }
"""


async def new_client(gql, tenant, name="Initech", roles=("BILLING",), **fields) -> dict[str, Any]:
    slug = name.lower().replace(" ", "")
    contacts = [{"email": f"{role.lower()}@{slug}.test", "role": role} for role in roles]
    data = await gql.data(
        CREATE_CLIENT, {"input": {"name": name, "contacts": contacts, **fields}}, token=tenant.admin
    )
    client: dict[str, Any] = data["createClient"]
    return client


async def sign_in_contact(runtime, contact_id: str) -> str:
    async with runtime.sessions() as session:
        contact = (
            await session.exec(select(Contact).where(Contact.id == uuid.UUID(contact_id)))
        ).one()
        token = await start_contact_session(
            session=session, signer=runtime.signer, contact=contact, ttl=runtime.session_ttl
        )
        await session.commit()
    return token
