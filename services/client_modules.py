"""The modules a contact's portal shows: the account's, narrowed by the client's, and the
recurring-payment settings a client paying automatically keeps with the dashboard off.

Sessions (``services.sessions``) build a contact's principal with it; the portal reads it too.
"""

from __future__ import annotations

import uuid

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.accounts import Account
from models.clients import Client
from models.enums import AutoBill, Module, RecurringStatus
from models.recurring import RecurringInvoice


def contact_modules(account: Account, client: Client) -> frozenset[Module]:
    """The modules in force for a client's portal: the account's, narrowed by the client's;
    with task sharing off (``taskSharingEnabled``, one setting for every client) no
    contact has the Tasks module."""
    enabled = {Module(m) for m in account.enabled_modules}
    if client.modules is not None:
        enabled &= {Module(m) for m in client.modules}
    if not account.task_sharing_enabled:
        enabled.discard(Module.TASKS)
    return frozenset(enabled)


async def pays_recurring_automatically(session: AsyncSession, client_id: uuid.UUID) -> bool:
    """Whether the client has an active recurring invoice that is billed automatically."""
    automatic = or_(
        col(RecurringInvoice.auto_bill) == AutoBill.ALWAYS,
        and_(
            col(RecurringInvoice.auto_bill).in_((AutoBill.OPT_IN, AutoBill.OPT_OUT)),
            col(RecurringInvoice.auto_bill_enabled).is_(True),
        ),
    )
    statement = select(RecurringInvoice.id).where(
        RecurringInvoice.client_id == client_id,
        RecurringInvoice.status == RecurringStatus.ACTIVE,
        automatic,
    )
    return (await session.exec(statement)).first() is not None


async def portal_modules(
    session: AsyncSession, account: Account, client: Client
) -> frozenset[Module]:
    """The modules a contact of ``client`` gets. With the client dashboard
    (``CLIENT_PORTAL``) off, a client paying a recurring invoice automatically keeps that
    recurring invoice's payment settings (seed 000), and nothing else."""
    modules = contact_modules(account, client)
    if Module.CLIENT_PORTAL in modules:
        return modules
    if await pays_recurring_automatically(session, client.id):
        return frozenset({Module.RECURRING_INVOICES})
    return frozenset()
