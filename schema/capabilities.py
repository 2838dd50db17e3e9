"""``viewer { capabilities }``: the modules in force and the actions the caller may take.

An action is claimed only when every mutation it maps to (:data:`ACTION_MUTATIONS`) is in
the schema the caller is being served — the schema the policy table, the modules in force
and the read-only flag cut for its profile — and the account's settings let it run
(:func:`services.capabilities.standing`). So capabilities cannot disagree with the schema:
a frontend asks for them, then sends only the queries and mutations that exist for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import strawberry
from graphql import GraphQLObjectType

from models.enums import Module
from resolvers import auth as auth_resolvers
from resolvers.context import Info
from schema.fields import field
from services.capabilities import Action

strawberry.enum(Action, description="Something the caller may do (see `Capabilities.actions`).")

ACTION_MUTATIONS: dict[Action, tuple[str, ...]] = {
    Action.PAY_INVOICES: ("payInvoices",),
    Action.APPROVE_QUOTES: ("approveQuote",),
    Action.DECLINE_QUOTES: ("declineQuote",),
    Action.MANAGE_PAYMENT_METHODS: (
        "createSetupIntent",
        "setDefaultPaymentMethod",
        "removePaymentMethod",
    ),
    Action.CHOOSE_AUTO_BILL: ("setRecurringInvoiceAutoBill",),
    Action.UPLOAD_DOCUMENTS: ("uploadDocument",),
    Action.CREATE_TASKS: ("createTask",),
    Action.COMMENT_ON_TASKS: ("addTaskComment",),
    Action.OPEN_TICKETS: ("openSupportTicket",),
    Action.REPLY_TO_TICKETS: ("replyToSupportTicket",),
    Action.CANCEL_SUBSCRIPTIONS: ("cancelSubscription",),
    Action.REQUEST_SUBSCRIPTION_CANCELLATION: ("requestSubscriptionCancellation",),
    Action.CHANGE_SUBSCRIPTION_PLANS: ("changeSubscriptionPlan",),
    Action.CHANGE_SUBSCRIPTION_CARDS: ("updateSubscriptionPaymentMethod",),
    Action.MAKE_PREPAYMENTS: ("makePrepayment",),
    Action.MANAGE_CLIENTS: ("createClient", "updateClient", "archiveClient"),
    Action.VIEW_AS_CONTACT: ("viewAsContact",),
    Action.SEND_INVOICES: ("createInvoice", "sendInvoice"),
    Action.VOID_INVOICES: ("voidInvoice",),
    Action.SEND_QUOTES: ("createQuote", "sendQuote"),
    Action.RECORD_PAYMENTS: ("recordPayment",),
    Action.REFUND_PAYMENTS: ("refundPayment",),
    Action.ISSUE_CREDITS: ("createCredit", "applyCredit"),
    Action.MANAGE_RECURRING_INVOICES: ("createRecurringInvoice", "updateRecurringInvoice"),
    Action.MANAGE_PROJECTS: ("createProject", "updateProject"),
    Action.LOG_TIME: ("logTime",),
    Action.MANAGE_TICKETS: ("updateSupportTicket", "closeSupportTicket"),
    Action.MANAGE_DOCUMENTS: ("updateDocument", "deleteDocument"),
    Action.ADMINISTER_ACCOUNT: ("updateAccountSettings",),
    Action.MANAGE_API_TOKENS: ("createApiToken", "revokeApiToken"),
    Action.MANAGE_WEBHOOKS: ("createWebhook", "updateWebhook", "deleteWebhook"),
    Action.MANAGE_SUBSCRIPTIONS: ("createSubscriptionPlan", "subscribeClient"),
}
"""The mutations each action is: claimed only when all of them exist for the caller."""


@dataclass(frozen=True, slots=True)
class Served:
    """What one profile's schema holds, as capabilities tell it."""

    actions: frozenset[Action]
    queries: tuple[str, ...]
    dashboard_parts: tuple[str, ...]


_SERVED: WeakKeyDictionary[Any, Served] = WeakKeyDictionary()


def served(schema: strawberry.Schema) -> Served:
    """The actions whose mutations all exist in ``schema``, its root query fields and the
    parts of its ``Dashboard`` (cached per schema: a profile's schema is built once)."""
    found = _SERVED.get(schema)
    if found is None:
        graphql = schema._schema
        mutation = graphql.mutation_type
        names = frozenset(mutation.fields) if mutation is not None else frozenset()
        dashboard = graphql.get_type("Dashboard")
        found = Served(
            actions=frozenset(
                a for a, needs in ACTION_MUTATIONS.items() if names.issuperset(needs)
            ),
            queries=tuple(graphql.query_type.fields) if graphql.query_type else (),
            dashboard_parts=tuple(dashboard.fields)
            if isinstance(dashboard, GraphQLObjectType)
            else (),
        )
        _SERVED[schema] = found
    return found


@strawberry.type(
    description="What the caller may use: ask for it first, then send only the queries "
    "and mutations that exist for you."
)
class Capabilities:
    modules: list[Module] = field(
        "The modules in force for the caller (staff: those switched on for the account; "
        "staff schemas keep every module's fields)."
    )
    read_only: bool = field("Whether the caller may change nothing (staff viewing as a client).")
    actions: list[Action] = field(
        "What the caller may do now: each action's mutations are in its schema and the "
        "account's settings let them run (portal payments and uploads, Stripe connected)."
    )
    queries: list[str] = field(
        "The root query fields that exist for the caller (build navigation from them)."
    )
    dashboard_parts: list[str] = field(
        "The fields of `dashboard` that exist for the caller (select only these)."
    )


@strawberry.interface(description="Whoever is behind the request's token.")
class Viewer:
    @field("What the caller may do; null on anyone but the caller (read through `viewer`).")
    async def capabilities(self, info: Info, root: strawberry.Parent[Any]) -> Capabilities | None:
        standing = await auth_resolvers.standing_of(info, root)
        if standing is None:
            return None
        schema = served(info.schema)
        actions = schema.actions - standing.turned_off
        return Capabilities(
            modules=[module for module in Module if module in standing.modules],
            read_only=auth_resolvers.read_only(info),
            actions=[action for action in Action if action in actions],
            queries=list(schema.queries),
            dashboard_parts=list(schema.dashboard_parts),
        )
