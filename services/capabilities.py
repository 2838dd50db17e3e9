"""What a caller may do, as ``viewer { capabilities }`` tells a frontend.

An action is possible when the mutations it names exist in the caller's schema (the
policy table, the modules in force — :mod:`services.client_modules` — and the read-only
flag decide that; ``schema/capabilities.py`` reads it off the caller's own schema) *and*
the account's settings let it run. This module holds the second half: the settings that
refuse a mutation at run time although it exists (uploads and payments from the portal,
Stripe not connected). Task sharing needs nothing here: it takes the TASKS module away
(:func:`services.client_modules.account_modules`), so its mutations are already gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from auth.principals import AuthenticatedPrincipal, ContactPrincipal, StaffPrincipal
from models.accounts import Account
from models.enums import Module


class Action(StrEnum):
    """Something a caller may do; each is one or more mutations (``schema/capabilities.py``)."""

    # the client's
    PAY_INVOICES = "PAY_INVOICES"
    APPROVE_QUOTES = "APPROVE_QUOTES"
    DECLINE_QUOTES = "DECLINE_QUOTES"
    MANAGE_PAYMENT_METHODS = "MANAGE_PAYMENT_METHODS"
    CHOOSE_AUTO_BILL = "CHOOSE_AUTO_BILL"
    UPLOAD_DOCUMENTS = "UPLOAD_DOCUMENTS"
    CREATE_TASKS = "CREATE_TASKS"
    COMMENT_ON_TASKS = "COMMENT_ON_TASKS"
    OPEN_TICKETS = "OPEN_TICKETS"
    REPLY_TO_TICKETS = "REPLY_TO_TICKETS"
    CANCEL_SUBSCRIPTIONS = "CANCEL_SUBSCRIPTIONS"
    """Where the plan allows it; else ``requestSubscriptionCancellation``."""
    REQUEST_SUBSCRIPTION_CANCELLATION = "REQUEST_SUBSCRIPTION_CANCELLATION"
    CHANGE_SUBSCRIPTION_PLANS = "CHANGE_SUBSCRIPTION_PLANS"
    """Where the plan allows it (``previewSubscriptionPlanChange`` first)."""
    CHANGE_SUBSCRIPTION_CARDS = "CHANGE_SUBSCRIPTION_CARDS"
    MAKE_PREPAYMENTS = "MAKE_PREPAYMENTS"
    # the business's
    MANAGE_CLIENTS = "MANAGE_CLIENTS"
    VIEW_AS_CONTACT = "VIEW_AS_CONTACT"
    SEND_INVOICES = "SEND_INVOICES"
    VOID_INVOICES = "VOID_INVOICES"
    SEND_QUOTES = "SEND_QUOTES"
    RECORD_PAYMENTS = "RECORD_PAYMENTS"
    REFUND_PAYMENTS = "REFUND_PAYMENTS"
    ISSUE_CREDITS = "ISSUE_CREDITS"
    MANAGE_RECURRING_INVOICES = "MANAGE_RECURRING_INVOICES"
    MANAGE_PROJECTS = "MANAGE_PROJECTS"
    LOG_TIME = "LOG_TIME"
    MANAGE_TICKETS = "MANAGE_TICKETS"
    MANAGE_DOCUMENTS = "MANAGE_DOCUMENTS"
    ADMINISTER_ACCOUNT = "ADMINISTER_ACCOUNT"
    MANAGE_API_TOKENS = "MANAGE_API_TOKENS"
    MANAGE_WEBHOOKS = "MANAGE_WEBHOOKS"
    MANAGE_SUBSCRIPTIONS = "MANAGE_SUBSCRIPTIONS"


_NEEDS_STRIPE = frozenset(
    {Action.PAY_INVOICES, Action.MANAGE_PAYMENT_METHODS, Action.MAKE_PREPAYMENTS}
)
"""Charged or saved at Stripe: refused with ``PAYMENTS_NOT_CONFIGURED`` without it."""


@dataclass(frozen=True, slots=True)
class Standing:
    """What the account says about one caller: the modules in force and the actions its
    settings turn off, whatever the caller's schema holds."""

    modules: frozenset[Module]
    turned_off: frozenset[Action]


def standing(account: Account, principal: AuthenticatedPrincipal) -> Standing:
    """Contacts and partners: the modules of their profile (the account's narrowed per
    client). Staff: the account's modules as switched on — staff schemas keep every
    module's fields, so that a module can be set up before clients see it."""
    if isinstance(principal, StaffPrincipal):
        modules = frozenset(Module(m) for m in account.enabled_modules)
    else:
        modules = principal.modules
    off: set[Action] = set()
    if not (account.stripe_secret_key and account.stripe_publishable_key):
        off |= _NEEDS_STRIPE
    if isinstance(principal, ContactPrincipal):
        if not account.client_payments_enabled:
            off.add(Action.PAY_INVOICES)  # services.payments.portal.require_portal_payments
        if not account.client_prepayments_enabled:
            off.add(Action.MAKE_PREPAYMENTS)  # services.stripe_gateway.prepayments
        if not account.client_uploads_enabled:
            off.add(Action.UPLOAD_DOCUMENTS)  # services.document_uploads._limit
    return Standing(modules=modules, turned_off=frozenset(off))
