"""The permission policy: the one table that says who holds each permission.

Schema fields declare what they need with ``@requires(permission:, module:)``; this table
decides which staff roles, contact roles and partner scopes hold each permission. Nothing
else decides visibility: the per-profile schema builder reads only this table.

:data:`TYPE_READS` says, once, what reading each GraphQL object type requires, so that a
nested path never shows more than the root field of the same type: every field that leads
to a type declares the type's permission and module (``PaymentAllocation.invoice`` needs
``INVOICES_READ`` like ``Query.invoices``). Two exceptions, both spelled out in the table:
a type's *reference* (``Client``: ``id`` and ``name``) is open to whoever reaches the type,
its other fields declaring the permission instead, and :data:`SELF_FIELDS` answer the
caller itself (``viewer``). ``tests/schema/test_policy_matrix.py`` walks every profile's
schema against this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.enums import ContactRole, Module, StaffRole


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
    """Create and edit projects, tasks and time logs."""
    TICKETS_MANAGE = "TICKETS_MANAGE"
    """Assign support tickets, set their priority and status, close them."""
    DOCUMENTS_MANAGE = "DOCUMENTS_MANAGE"
    """Rename, share or unshare and delete documents (uploading is ``COLLABORATE``)."""
    VIEW_AS_CONTACT = "VIEW_AS_CONTACT"
    ACCOUNT_ADMIN = "ACCOUNT_ADMIN"
    """Account settings, modules, branding, API tokens, staff management."""
    # Client actions
    BILLING_ACT = "BILLING_ACT"
    """Pay, approve or decline quotes, add or remove payment methods, change or cancel
    subscriptions: the client's billing contact only."""
    PAYMENT_METHODS_MANAGE = "PAYMENT_METHODS_MANAGE"
    """Save (SetupIntent), remove and choose the default of a client's payment methods:
    the client's billing contact for its own client, money staff for any client (a card
    the client gave them, entered in Stripe's own form)."""
    SUBSCRIPTIONS_ACT = "SUBSCRIPTIONS_ACT"
    """Cancel a subscription, change its plan or the payment method it is charged to: the
    client's billing contact for its own (as the plan allows), money staff for any."""
    PREPAYMENTS_ACT = "PREPAYMENTS_ACT"
    """Stop a recurring pre-payment: the client's billing contact for its own, money staff
    for any client of the account (a client who asks by phone, a card that should no longer
    be charged)."""
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
    Permission.EVENTS_SUBSCRIBE: _grant(_MONEY_STAFF, _MONEY_CONTACTS, "events:subscribe"),
    Permission.INTERNAL_READ: _grant(_ALL_STAFF),
    Permission.RATES_AND_COSTS_READ: _grant(_MONEY_STAFF),
    Permission.PROVIDER_IDS_READ: _grant(_MONEY_STAFF),
    Permission.SECRETS_READ: _grant(),
    Permission.CLIENTS_MANAGE: _grant(_MONEY_STAFF),
    Permission.BILLING_MANAGE: _grant(_MONEY_STAFF),
    Permission.PROJECTS_MANAGE: _grant(_ALL_STAFF),
    Permission.TICKETS_MANAGE: _grant(_ALL_STAFF),
    Permission.DOCUMENTS_MANAGE: _grant(_ALL_STAFF),
    Permission.VIEW_AS_CONTACT: _grant(_MONEY_STAFF),
    Permission.ACCOUNT_ADMIN: _grant(_ADMINS),
    Permission.BILLING_ACT: _grant("", "BILLING"),
    Permission.PAYMENT_METHODS_MANAGE: _grant(_MONEY_STAFF, "BILLING"),
    Permission.SUBSCRIPTIONS_ACT: _grant(_MONEY_STAFF, "BILLING"),
    Permission.PREPAYMENTS_ACT: _grant(_MONEY_STAFF, "BILLING"),
    Permission.COLLABORATE: _grant(_ALL_STAFF, "BILLING COLLABORATOR"),
}

PARTNER_SCOPES: frozenset[str] = frozenset(
    scope for grant in POLICY.values() for scope in grant.scopes
)
"""Every scope an API token may carry."""


@dataclass(frozen=True, slots=True)
class TypeRead:
    """What reading one object type requires.

    Without a ``reference``, every field leading to the type requires ``permission`` and
    ``module`` (a type with neither is open to whoever reaches it: payloads, parts read
    through their parent). With a ``reference``, the fields leading to the type are open,
    the reference fields are open, and every other field of the type requires
    ``permission`` and ``module`` itself.
    """

    permission: Permission | None = None
    module: Module | None = None
    reference: frozenset[str] = frozenset()


def _read(
    permission: Permission | None = None, module: Module | None = None, reference: str = ""
) -> TypeRead:
    return TypeRead(permission, module, frozenset(reference.split()))


_OPEN = _read()

TYPE_READS: dict[str, TypeRead] = {
    # Whoever reaches these may read them; their guarded fields say more themselves.
    "PageInfo": _OPEN,
    "Portal": _OPEN,  # public branding
    "Session": _OPEN,  # the caller's own sessions (staff: a contact's)
    "SignInPayload": _OPEN,
    "PortalSessionPayload": _OPEN,
    "InvitePayload": _OPEN,
    "PortalLinkPayload": _OPEN,
    "ApiTokenPayload": _OPEN,
    "CreateWebhookPayload": _OPEN,
    "PayInvoicesPayload": _OPEN,
    "SetupIntentPayload": _OPEN,
    "SubscriptionPlanChangePayload": _OPEN,
    "PrepaymentPayload": _OPEN,
    "InvoicePaymentShare": _OPEN,
    "QuoteApproval": _OPEN,
    "LineItem": _OPEN,  # a line of the invoice, quote or schedule it is read through
    "Capabilities": _OPEN,  # the caller's own (null on anyone else)
    "Dashboard": _OPEN,  # each part declares what it shows
    "CurrencyTotal": _OPEN,  # a sum read through the dashboard part that declares it
    # The business, its people and partners.
    "Account": _read(
        Permission.ACCOUNT_ADMIN,
        reference="id name slug currency timezone locale logoUrl primaryColor backgroundImageUrl "
        "whiteLabel termsText privacyText clientUploadsEnabled clientUploadMaxBytes "
        "clientPaymentsEnabled clientPrepaymentsEnabled clientPrepaymentMinimum "
        "allowPartialPayments allowOverpayment minimumPaymentAmount",
    ),  # the pre-payment and payment settings: their own @requires (PAYMENTS_READ, Payments)
    "StaffUser": _read(Permission.STAFF_READ),
    "ApiClient": _read(Permission.ACCOUNT_ADMIN),
    "Webhook": _read(Permission.ACCOUNT_ADMIN),
    "WebhookDelivery": _read(Permission.ACCOUNT_ADMIN),
    "WebhookAttempt": _read(Permission.ACCOUNT_ADMIN),
    "PersistedQuery": _read(Permission.ACCOUNT_ADMIN),
    # Clients: a client's id and name are a reference anyone may follow (the client an
    # invoice, payment or statement is of); its contact details and contacts are
    # CLIENTS_READ.
    "Client": _read(Permission.CLIENTS_READ, reference="id name"),
    "Contact": _read(Permission.CLIENTS_READ),
    # Money.
    "Invoice": _read(Permission.INVOICES_READ, Module.INVOICES),
    "InvoiceEvent": _read(Permission.INVOICES_READ, Module.INVOICES),
    "InvoiceAutoBill": _read(Permission.INVOICES_READ, Module.INVOICES),
    "Quote": _read(Permission.QUOTES_READ, Module.QUOTES),
    "Payment": _read(Permission.PAYMENTS_READ, Module.PAYMENTS),
    "PaymentAllocation": _read(Permission.PAYMENTS_READ, Module.PAYMENTS),
    "PaymentRefund": _read(Permission.PAYMENTS_READ, Module.PAYMENTS),
    "PaymentDispute": _read(Permission.INTERNAL_READ, Module.PAYMENTS),
    "Credit": _read(Permission.CREDITS_READ, Module.CREDITS),
    "CreditApplication": _read(Permission.CREDITS_READ, Module.CREDITS),
    "AvailableCredit": _read(Permission.CREDITS_READ, Module.CREDITS),
    "RecurringInvoice": _read(Permission.RECURRING_READ, Module.RECURRING_INVOICES),
    "UpcomingPayment": _read(Permission.RECURRING_READ, Module.RECURRING_INVOICES),
    "ClientSubscription": _read(Permission.SUBSCRIPTIONS_READ, Module.SUBSCRIPTIONS),
    "SubscriptionPlanChangePreview": _read(Permission.SUBSCRIPTIONS_READ, Module.SUBSCRIPTIONS),
    "RecurringPrepayment": _read(Permission.PAYMENTS_READ, Module.PAYMENTS),
    "PrepaymentCharge": _read(Permission.PAYMENTS_READ, Module.PAYMENTS),
    "SubscriptionPlan": _read(Permission.SUBSCRIPTIONS_READ, Module.SUBSCRIPTIONS),
    "PaymentMethod": _read(Permission.PAYMENT_METHODS_READ, Module.PAYMENT_METHODS),
    "Statement": _read(Permission.STATEMENTS_READ, Module.STATEMENTS),
    "StatementEntry": _read(Permission.STATEMENTS_READ, Module.STATEMENTS),
    "StatementAging": _read(Permission.STATEMENTS_READ, Module.STATEMENTS),
    # Work.
    "Project": _read(Permission.PROJECTS_READ, Module.PROJECTS),
    "Task": _read(Permission.TASKS_READ, Module.TASKS),
    "TaskComment": _read(Permission.TASKS_READ, Module.TASKS),
    "Document": _read(Permission.DOCUMENTS_READ, Module.DOCUMENTS),
    "TimeLog": _read(Permission.TIME_LOGS_READ, Module.TIME_LOGS),
    "SupportTicket": _read(Permission.TICKETS_READ, Module.SUPPORT_TICKETS),
    "TicketMessage": _read(Permission.TICKETS_READ, Module.SUPPORT_TICKETS),
    "Activity": _read(Permission.ACTIVITY_READ),
    "ActivityDetail": _read(Permission.ACTIVITY_READ),
}
"""What reading each object type requires, by GraphQL type name (a ``<T>Connection`` and
``<T>Edge`` read like ``T``; see :func:`type_read`)."""

SELF_FIELDS: frozenset[tuple[str, str]] = frozenset({("Query", "viewer")})
"""Fields that answer the caller itself (the staff user, contact or API client behind the
token), which any caller may read whatever its target type requires elsewhere."""


def type_read(type_name: str) -> TypeRead | None:
    """The rule for ``type_name``, or ``None`` when the type is in no table."""
    if type_name in TYPE_READS:
        return TYPE_READS[type_name]
    for suffix in ("Connection", "Edge"):
        node = type_name.removesuffix(suffix)
        if node != type_name and node in TYPE_READS:
            return TYPE_READS[node]
    return None
