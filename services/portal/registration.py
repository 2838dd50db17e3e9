"""Self-registration (seed 004): a new client with one contact, who confirms the email
with a link."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clients import Client, Contact
from models.enums import ContactRole, LinkPurpose
from services.accounts import account_for_portal
from services.errors import BadInput, Forbidden
from services.events import clients as client_events
from services.portal.links import send_link
from services.portal.sign_in import portal_contact
from services.runtime import Runtime
from services.validation import normalise_email, optional_text


@dataclass(frozen=True, slots=True)
class Registration:
    company: str | None
    email: str
    first_name: str
    last_name: str
    phone: str | None = None


async def register_client(
    session: AsyncSession,
    runtime: Runtime,
    *,
    account_slug: str,
    data: Registration,
) -> None:
    """Self-registration (seed 004): a new client with one BILLING contact, who gets a
    link to confirm the email. An email that already has access gets a sign-in link
    instead, and the answer is the same, so registration cannot probe for clients."""
    account = await account_for_portal(session, slug=account_slug)
    if not account.portal_enabled or not account.registration_enabled:
        raise Forbidden("This portal does not take registrations.")
    email = normalise_email(data.email)
    first_name = optional_text(data.first_name, field="firstName", max_length=100) or ""
    last_name = optional_text(data.last_name, field="lastName", max_length=100) or ""
    company = optional_text(data.company, field="company", max_length=200)
    phone = optional_text(data.phone, field="phone", max_length=50)
    if not (first_name or last_name or company):
        raise BadInput("Give your name or your company's.", field="firstName")
    existing = (
        await session.exec(
            select(Contact).where(Contact.account_id == account.id, Contact.email == email)
        )
    ).one_or_none()
    if existing is not None:
        if await portal_contact(session, account=account, email=email) is not None:
            await send_link(
                session,
                runtime,
                account=account,
                contact=existing,
                purpose=LinkPurpose.MAGIC_LINK,
                template="already_registered",
            )
        return
    name = company or f"{first_name} {last_name}".strip()
    client = Client(
        account_id=account.id,
        name=name,
        company=company,
        email=email,
        phone=phone,
        currency=account.currency,
    )
    session.add(client)
    await session.flush()
    contact = Contact(
        account_id=account.id,
        client_id=client.id,
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        role=ContactRole.BILLING,
        is_primary=True,
    )
    session.add(contact)
    await session.flush()
    await send_link(
        session,
        runtime,
        account=account,
        contact=contact,
        purpose=LinkPurpose.EMAIL_VERIFICATION,
        template="email_verification",
    )
    client_events.registered(session, client)
