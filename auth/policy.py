"""The permission policy: the one table that says who holds each permission.

Schema fields declare what they need with ``@requires(permission:, module:)``; this table
decides which staff roles, contact roles and partner scopes hold each permission. Nothing
else decides visibility: the per-profile schema builder reads only this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.enums import ContactRole, StaffRole


class Permission(StrEnum):
    # Reading the business's records
    CLIENTS_READ = "CLIENTS_READ"
    STAFF_READ = "STAFF_READ"
    INVOICES_READ = "INVOICES_READ"
    QUOTES_READ = "QUOTES_READ"
    PAYMENTS_READ = "PAYMENTS_READ"
    CREDITS_READ = "CREDITS_READ"
    RECURRING_READ = "RECURRING_READ"
    SUBSCRIPTIONS_READ = "SUBSCRIPTIONS_READ"
    PAYMENT_METHODS_READ = "PAYMENT_METHODS_READ"
    STATEMENTS_READ = "STATEMENTS_READ"
    PROJECTS_READ = "PROJECTS_READ"
    TASKS_READ = "TASKS_READ"
    DOCUMENTS_READ = "DOCUMENTS_READ"
    TIME_LOGS_READ = "TIME_LOGS_READ"
    TICKETS_READ = "TICKETS_READ"
    ACTIVITY_READ = "ACTIVITY_READ"
    EVENTS_SUBSCRIBE = "EVENTS_SUBSCRIBE"
    # Staff-only data
    INTERNAL_READ = "INTERNAL_READ"
    """Private notes, internal flags: any staff user."""
    RATES_AND_COSTS_READ = "RATES_AND_COSTS_READ"
    PROVIDER_IDS_READ = "PROVIDER_IDS_READ"
    SECRETS_READ = "SECRETS_READ"
    """Gateway keys, token hashes: held by nobody."""
    # Staff actions
    CLIENTS_MANAGE = "CLIENTS_MANAGE"
    BILLING_MANAGE = "BILLING_MANAGE"
    """Create, send and void invoices and quotes; record payments and credits."""
    PROJECTS_MANAGE = "PROJECTS_MANAGE"
    VIEW_AS_CONTACT = "VIEW_AS_CONTACT"
    ACCOUNT_ADMIN = "ACCOUNT_ADMIN"
    """Account settings, modules, branding, API tokens, staff management."""
    # Client actions
    BILLING_ACT = "BILLING_ACT"
    """Pay, approve or decline quotes, add or remove payment methods, change or cancel
    subscriptions: the client's billing contact only."""
    COLLABORATE = "COLLABORATE"
    """Comment on shared tasks, upload documents, open support tickets."""


@dataclass(frozen=True, slots=True)
class Grant:
    staff: frozenset[StaffRole] = frozenset()
    contacts: frozenset[ContactRole] = frozenset()
    scopes: frozenset[str] = frozenset()


def _grant(staff: str = "", contacts: str = "", scopes: str = "") -> Grant:
    return Grant(
        staff=frozenset(StaffRole(r) for r in staff.split()),
        contacts=frozenset(ContactRole(r) for r in contacts.split()),
        scopes=frozenset(scopes.split()),
    )


_ADMINS = "OWNER ADMIN"
_MONEY_STAFF = "OWNER ADMIN MANAGER"
_ALL_STAFF = "OWNER ADMIN MANAGER MEMBER"
_MONEY_CONTACTS = "BILLING VIEWER"
_ALL_CONTACTS = "BILLING COLLABORATOR VIEWER"

POLICY: dict[Permission, Grant] = {
    Permission.CLIENTS_READ: _grant(_ALL_STAFF, _ALL_CONTACTS, "clients:read"),
    Permission.STAFF_READ: _grant(_ALL_STAFF),
    Permission.INVOICES_READ: _grant(_MONEY_STAFF, _MONEY_CONTACTS, "invoices:read"),
    Permission.QUOTES_READ: _grant(_MONEY_STAFF, _MONEY_CONTACTS, "quotes:read"),
    Permission.PAYMENTS_READ: _grant(_MONEY_STAFF, _MONEY_CONTACTS, "payments:read"),
    Permission.CREDITS_READ: _grant(_MONEY_STAFF, _MONEY_CONTACTS, "credits:read"),
    Permission.RECURRING_READ: _grant(_MONEY_STAFF, _MONEY_CONTACTS, "invoices:read"),
    Permission.SUBSCRIPTIONS_READ: _grant(_MONEY_STAFF, _MONEY_CONTACTS, "subscriptions:read"),
    Permission.PAYMENT_METHODS_READ: _grant(_MONEY_STAFF, _MONEY_CONTACTS),
    Permission.STATEMENTS_READ: _grant(_MONEY_STAFF, _MONEY_CONTACTS, "statements:read"),
    Permission.PROJECTS_READ: _grant(_ALL_STAFF, _ALL_CONTACTS, "projects:read"),
    Permission.TASKS_READ: _grant(_ALL_STAFF, _ALL_CONTACTS, "projects:read"),
    Permission.DOCUMENTS_READ: _grant(_ALL_STAFF, _ALL_CONTACTS, "documents:read"),
    Permission.TIME_LOGS_READ: _grant(_ALL_STAFF, _ALL_CONTACTS),
    Permission.TICKETS_READ: _grant(_ALL_STAFF, _ALL_CONTACTS),
    Permission.ACTIVITY_READ: _grant(_ALL_STAFF, _ALL_CONTACTS),
    Permission.EVENTS_SUBSCRIBE: _grant(_MONEY_STAFF, "", "events:subscribe"),
    Permission.INTERNAL_READ: _grant(_ALL_STAFF),
    Permission.RATES_AND_COSTS_READ: _grant(_MONEY_STAFF),
    Permission.PROVIDER_IDS_READ: _grant(_MONEY_STAFF),
    Permission.SECRETS_READ: _grant(),
    Permission.CLIENTS_MANAGE: _grant(_MONEY_STAFF),
    Permission.BILLING_MANAGE: _grant(_MONEY_STAFF),
    Permission.PROJECTS_MANAGE: _grant(_ALL_STAFF),
    Permission.VIEW_AS_CONTACT: _grant(_MONEY_STAFF),
    Permission.ACCOUNT_ADMIN: _grant(_ADMINS),
    Permission.BILLING_ACT: _grant("", "BILLING"),
    Permission.COLLABORATE: _grant(_ALL_STAFF, "BILLING COLLABORATOR"),
}

PARTNER_SCOPES: frozenset[str] = frozenset(
    scope for grant in POLICY.values() for scope in grant.scopes
)
"""Every scope an API token may carry."""


def staff_holds(role: StaffRole, permission: Permission) -> bool:
    return role in POLICY[permission].staff


def contact_holds(role: ContactRole, permission: Permission) -> bool:
    return role in POLICY[permission].contacts


def scopes_hold(scopes: frozenset[str], permission: Permission) -> bool:
    return not POLICY[permission].scopes.isdisjoint(scopes)
