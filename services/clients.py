"""Clients and their contacts: one action function per change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, or_
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.accounts import Account
from models.clients import Client, Contact
from models.enums import ContactRole, Module
from models.types import utcnow
from services.access import access_client, access_contact, client_scope
from services.errors import BadInput, Conflict
from services.events import clients as client_events
from services.money import validate_currency
from services.pagination import Page, paginate
from services.portal.access import end_contact_access
from services.validation import normalise_email, optional_text, required_text


@dataclass(slots=True)
class ClientData:
    """Fields of a client; in an update, ``None`` leaves a field as it is."""

    name: str | None = None
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    currency: str | None = None
    portal_enabled: bool | None = None
    modules: list[Module] | None = None
    private_notes: str | None = None


@dataclass(slots=True)
class ContactData:
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    role: ContactRole | None = None
    is_primary: bool | None = None


@dataclass(slots=True)
class ClientFilter:
    search: str | None = None
    archived: bool | None = False
    portal_enabled: bool | None = None
    ids: list[uuid.UUID] = field(default_factory=list)


async def list_clients(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: ClientFilter,
    first: int | None,
    after: str | None,
) -> Page[Client]:
    statement = select(Client).where(*client_scope(principal))
    if filters.archived is True:
        statement = statement.where(Client.archived_at.is_not(None))  # type: ignore[union-attr]
    elif filters.archived is False:
        statement = statement.where(Client.archived_at.is_(None))  # type: ignore[union-attr]
    if filters.portal_enabled is not None:
        statement = statement.where(Client.portal_enabled == filters.portal_enabled)
    if filters.search:
        pattern = f"%{filters.search.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(Client.name).like(pattern),
                func.lower(func.coalesce(Client.company, "")).like(pattern),
                func.lower(func.coalesce(Client.email, "")).like(pattern),
            )
        )
    if filters.ids:
        statement = statement.where(Client.id.in_(filters.ids))  # type: ignore[attr-defined]
    return await paginate(session, statement, Client, first=first, after=after)


def _apply_client_data(client: Client, data: ClientData) -> None:
    if data.name is not None:
        client.name = required_text(data.name, field="name", max_length=200)
    if data.company is not None:
        client.company = optional_text(data.company, field="company", max_length=200)
    if data.email is not None:
        client.email = normalise_email(data.email) if data.email.strip() else None
    if data.phone is not None:
        client.phone = optional_text(data.phone, field="phone", max_length=50)
    if data.address is not None:
        client.address = optional_text(data.address, field="address", max_length=2000)
    if data.currency is not None:
        client.currency = validate_currency(data.currency)
    if data.portal_enabled is not None:
        client.portal_enabled = data.portal_enabled
    if data.modules is not None:
        client.modules = sorted({m.value for m in data.modules})
    if data.private_notes is not None:
        client.private_notes = optional_text(
            data.private_notes, field="privateNotes", max_length=10000
        )


async def create_client(
    *,
    session: AsyncSession,
    actor: StaffPrincipal,
    data: ClientData,
    contacts: list[ContactData] | None = None,
) -> Client:
    if data.name is None:
        raise BadInput("This field is required.", field="name")
    account = await session.get(Account, actor.account_id)
    client = Client(
        account_id=actor.account_id, name="", currency=account.currency if account else "USD"
    )
    _apply_client_data(client, data)
    session.add(client)
    await session.flush()
    for index, contact_data in enumerate(contacts or []):
        await _add_contact(session, client, contact_data, field_prefix=f"contacts.{index}.")
    client_events.created(session, client, actor)
    return client


async def update_client(
    *, session: AsyncSession, actor: StaffPrincipal, client_id: uuid.UUID, data: ClientData
) -> Client:
    client = await access_client(session, actor, client_id)
    portal_was_on = client.portal_enabled
    _apply_client_data(client, data)
    client.updated_at = utcnow()
    if portal_was_on and not client.portal_enabled:
        await end_contact_access(session, account_id=actor.account_id, client_id=client.id)
    client_events.updated(session, client, actor)
    return client


async def archive_client(
    *, session: AsyncSession, actor: StaffPrincipal, client_id: uuid.UUID
) -> Client:
    """Archive a client; its contacts' portal access ends at once: every session and
    link is revoked (restoring the client does not bring them back)."""
    client = await access_client(session, actor, client_id)
    if client.archived_at is None:
        client.archived_at = utcnow()
        client.updated_at = client.archived_at
        await end_contact_access(session, account_id=actor.account_id, client_id=client.id)
        client_events.archived(session, client, actor)
    return client


async def restore_client(
    *, session: AsyncSession, actor: StaffPrincipal, client_id: uuid.UUID
) -> Client:
    client = await access_client(session, actor, client_id)
    if client.archived_at is not None:
        client.archived_at = None
        client.updated_at = utcnow()
        client_events.restored(session, client, actor)
    return client


async def _email_taken(
    session: AsyncSession, account_id: uuid.UUID, email: str, except_id: uuid.UUID | None
) -> bool:
    statement = select(Contact.id).where(Contact.account_id == account_id, Contact.email == email)
    if except_id is not None:
        statement = statement.where(Contact.id != except_id)
    return (await session.exec(statement)).first() is not None


async def _add_contact(
    session: AsyncSession, client: Client, data: ContactData, *, field_prefix: str = ""
) -> Contact:
    if data.email is None:
        raise BadInput("This field is required.", field=f"{field_prefix}email")
    email = normalise_email(data.email, field=f"{field_prefix}email")
    if await _email_taken(session, client.account_id, email, None):
        raise Conflict(
            "Another contact in this account already uses this email.",
            field=f"{field_prefix}email",
        )
    contact = Contact(
        account_id=client.account_id,
        client_id=client.id,
        email=email,
        first_name=optional_text(data.first_name, field="firstName", max_length=100) or "",
        last_name=optional_text(data.last_name, field="lastName", max_length=100) or "",
        phone=optional_text(data.phone, field="phone", max_length=50),
        role=data.role or ContactRole.VIEWER,
    )
    has_primary = (
        await session.exec(
            select(Contact.id).where(Contact.client_id == client.id, Contact.is_primary)
        )
    ).first() is not None
    contact.is_primary = bool(data.is_primary) or not has_primary
    if contact.is_primary and has_primary:
        await _clear_primary(session, client.id)
    session.add(contact)
    await session.flush()
    return contact


async def _clear_primary(session: AsyncSession, client_id: uuid.UUID) -> None:
    for other in (
        await session.exec(
            select(Contact).where(Contact.client_id == client_id, Contact.is_primary)
        )
    ).all():
        other.is_primary = False
    await session.flush()


async def create_contact(
    *, session: AsyncSession, actor: StaffPrincipal, client_id: uuid.UUID, data: ContactData
) -> Contact:
    client = await access_client(session, actor, client_id)
    contact = await _add_contact(session, client, data)
    client_events.contact_created(session, contact, actor)
    return contact


async def update_contact(
    *, session: AsyncSession, actor: StaffPrincipal, contact_id: uuid.UUID, data: ContactData
) -> Contact:
    contact = await access_contact(session, actor, contact_id)
    if data.email is not None:
        email = normalise_email(data.email)
        if email != contact.email:
            if await _email_taken(session, contact.account_id, email, contact.id):
                raise Conflict(
                    "Another contact in this account already uses this email.", field="email"
                )
            contact.email = email
            contact.email_verified_at = None
            # Access was given to the old address: it ends with it.
            await end_contact_access(session, account_id=actor.account_id, contact_ids=[contact.id])
    if data.first_name is not None:
        contact.first_name = optional_text(data.first_name, field="firstName", max_length=100) or ""
    if data.last_name is not None:
        contact.last_name = optional_text(data.last_name, field="lastName", max_length=100) or ""
    if data.phone is not None:
        contact.phone = optional_text(data.phone, field="phone", max_length=50)
    if data.role is not None:
        contact.role = data.role
    if data.is_primary and not contact.is_primary:
        await _clear_primary(session, contact.client_id)
        contact.is_primary = True
    contact.updated_at = utcnow()
    client_events.contact_updated(session, contact, actor)
    return contact


async def delete_contact(
    *, session: AsyncSession, actor: StaffPrincipal, contact_id: uuid.UUID
) -> uuid.UUID:
    contact = await access_contact(session, actor, contact_id)
    await end_contact_access(session, account_id=actor.account_id, contact_ids=[contact.id])
    await session.delete(contact)
    client_events.contact_deleted(session, contact, actor)
    return contact.id
