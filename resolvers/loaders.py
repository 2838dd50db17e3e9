"""Per-request DataLoaders, one per relationship (``<Target>By<Key>Loader``).

Each loader answers a whole batch of keys with one statement, always inside the
caller's scope from :mod:`services.access` (no loader builds a scope of its own), so a
request costs statements in proportion to its depth, never to the number of rows it
returns.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import Row, Select, bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from models.accounts import Account, StaffUser
from models.activity import Activity
from models.auth import ApiToken
from models.auto_bill import InvoiceAutoBill
from models.clients import Client, Contact
from models.credits import CreditApplication
from models.documents import Document
from models.follows import Follow
from models.invoices import Invoice, InvoiceLine
from models.payment_methods import SavedPaymentMethod
from models.payments import Payment, PaymentAllocation, PaymentDispute, PaymentRefund
from models.projects import Project, Task, TaskComment
from models.quotes import Quote, QuoteLine
from models.recurring import RecurringInvoiceLine
from models.subscriptions import SubscriptionPlan
from models.support import SupportTicket, TicketMessage
from models.time_logs import TimeLog
from services import access
from services.db import read_rows
from services.prepared import per_caller
from services.rows import RowView, views_of
from services.sessions import SessionHolder

RowT = TypeVar("RowT")

ClientView: TypeAlias = Client | RowView
"""A client as resolvers read it: the ORM row (the signed-in contact's own, read with its
session) or a plain row of all its columns (:attr:`Loaders.client_by_id`); same
attributes."""
Scope = Callable[[Principal], access.Conditions]

LINE_SCOPES: dict[Any, Scope] = {
    InvoiceLine: access.invoice_line_scope,
    QuoteLine: access.quote_line_scope,
    RecurringInvoiceLine: access.recurring_invoice_line_scope,
}
"""Each line table's scope: the caller's account (the document was read in its own)."""


def _by_id(
    session: AsyncSession, principal: Principal, model: type[RowT], scope: Scope
) -> DataLoader[uuid.UUID, RowT | None]:
    async def load(keys: list[uuid.UUID]) -> Sequence[RowT | None]:
        column: Any = model.id  # type: ignore[attr-defined]
        rows = (await session.exec(select(model).where(column.in_(keys), *scope(principal)))).all()
        found = {row.id: row for row in rows}  # type: ignore[attr-defined]
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


def _many_by(
    session: AsyncSession,
    principal: Principal,
    model: type[RowT],
    key: str,
    scope: Scope,
    order_by: str = "created_at",
) -> DataLoader[uuid.UUID, list[RowT]]:
    async def load(keys: list[uuid.UUID]) -> Sequence[list[RowT]]:
        column: Any = getattr(model, key)
        rows = (
            await session.exec(
                select(model)
                .where(column.in_(keys), *scope(principal))
                .order_by(getattr(model, order_by), model.id)  # type: ignore[attr-defined]
            )
        ).all()
        grouped: dict[uuid.UUID, list[RowT]] = defaultdict(list)
        for row in rows:
            grouped[getattr(row, key)].append(row)
        return [grouped.get(key_value, []) for key_value in keys]

    return DataLoader(load_fn=load)


def _columns(table: Any, columns: frozenset[str] | None, *always: str) -> list[Any]:
    """``table``'s named ``columns`` (all of them: ``None``) and the ``always`` ones, in
    the table's order."""
    return [
        column
        for column in table.columns
        if columns is None or column.name in columns or column.name in always
    ]


KEYS = "keys"
"""The expanding parameter of a loader's batch of keys (``column IN (...)``)."""


@per_caller
def _rows_statement(
    model: Any,
    key: str,
    scope: Scope,
    principal: Principal,
    order_by: str | None,
    columns: frozenset[str] | None,
) -> Select[*tuple[Any, ...]]:
    """``model``'s ``columns`` (and ``key``) where ``key`` is in the batch, in
    ``scope``: built once per caller, the batch a parameter."""
    table = model.__table__
    statement: Select[*tuple[Any, ...]] = Select(*_columns(table, columns, key)).where(
        table.c[key].in_(bindparam(KEYS, expanding=True)), *scope(principal)
    )
    if order_by is not None:
        statement = statement.order_by(table.c[order_by], table.c.id)
    return statement


def _many_rows_by(
    session: AsyncSession,
    principal: Principal,
    model: Any,
    key: str,
    scope: Scope,
    order_by: str,
    columns: frozenset[str] | None,
) -> DataLoader[uuid.UUID, list[Row[Any]]]:
    """:func:`_many_by` for rows that are only read: plain rows of the named ``columns``
    (all of them: ``None``), read by attribute like the model, without building ORM
    objects, identity map entries and instance state, nor converting the ids and amounts
    of columns nobody asked for (500 invoice lines per list page). The statement runs on
    the session's connection, past the ORM's execution (``services.db.read_rows``)."""
    statement = _rows_statement(model, key, scope, principal, order_by, columns)

    async def load(keys: list[uuid.UUID]) -> Sequence[list[Row[Any]]]:
        # grouped by the ids' integers: a UUID's __hash__ and __eq__ are Python methods
        grouped: dict[int, list[Row[Any]]] = defaultdict(list)
        for row in await read_rows(session, statement, {KEYS: keys}):
            grouped[getattr(row, key).int].append(row)
        return [grouped.get(key_value.int, []) for key_value in keys]

    return DataLoader(load_fn=load)


def _rows_by_id(
    session: AsyncSession, principal: Principal, model: Any, scope: Scope
) -> DataLoader[uuid.UUID, RowView | None]:
    """:func:`_by_id` for rows that are only read: views of all the model's columns
    (read by attribute like the model: :mod:`services.rows`), without the ORM."""
    statement = _rows_statement(model, "id", scope, principal, None, None)

    async def load(keys: list[uuid.UUID]) -> Sequence[RowView | None]:
        rows = views_of(RowView, await read_rows(session, statement, {KEYS: keys}))
        found = {row.id.int: row for row in rows}
        return [found.get(key.int) for key in keys]

    return DataLoader(load_fn=load)


def _by_key(
    session: AsyncSession, principal: Principal, model: type[RowT], key: str, scope: Scope
) -> DataLoader[uuid.UUID, RowT | None]:
    """Rows keyed by a unique column other than ``id``."""

    async def load(keys: list[uuid.UUID]) -> Sequence[RowT | None]:
        column: Any = getattr(model, key)
        rows = (await session.exec(select(model).where(column.in_(keys), *scope(principal)))).all()
        found = {getattr(row, key): row for row in rows}
        return [found.get(key_value) for key_value in keys]

    return DataLoader(load_fn=load)


@lru_cache(maxsize=256)
def _column_names(columns: frozenset[str]) -> str:
    """A loader's name part for a set of columns (asked once per document's field and
    row: 100 times for a page's lines)."""
    return ",".join(sorted(columns))


class Loaders:
    """All loaders of one request (each built on first use)."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self._session = session
        self._principal = principal
        self._built: dict[str, DataLoader[Any, Any]] = {}

    def prime_holder(self, holder: SessionHolder) -> None:
        """Take the rows authentication read for this request's principal (its staff
        user, or its contact's client and account) instead of reading them again; each
        is in the principal's own scope, as the loader's statement would have found it."""
        principal = holder.principal
        if principal is not self._principal:
            return
        user = holder.staff_user
        if (
            user is not None
            and isinstance(principal, StaffPrincipal)
            and user.account_id == principal.account_id
        ):
            self.staff_user_by_id.prime(user.id, user)
        if holder.account is not None and holder.account.id == principal.account_id:
            self.account_by_id.prime(holder.account.id, holder.account)
        client = holder.client
        if (
            client is not None
            and isinstance(principal, ContactPrincipal)
            and client.id == principal.client_id
            and client.account_id == principal.account_id
        ):
            self.client_by_id.prime(client.id, client)

    def _get(self, name: str, build: Callable[[], DataLoader[Any, Any]]) -> DataLoader[Any, Any]:
        if name not in self._built:
            self._built[name] = build()
        return self._built[name]

    @property
    def account_by_id(self) -> DataLoader[uuid.UUID, Account | None]:
        return self._get(
            "AccountByIdLoader",
            lambda: _by_id(self._session, self._principal, Account, access.account_scope),
        )

    @property
    def client_by_id(self) -> DataLoader[uuid.UUID, ClientView | None]:
        """Clients as read-only rows of all their columns (the contact's own is the
        holder's row, primed)."""
        return self._get(
            "ClientByIdLoader",
            lambda: _rows_by_id(self._session, self._principal, Client, access.client_scope),
        )

    @property
    def staff_user_by_id(self) -> DataLoader[uuid.UUID, StaffUser | None]:
        return self._get(
            "StaffUserByIdLoader",
            lambda: _by_id(self._session, self._principal, StaffUser, access.staff_user_scope),
        )

    @property
    def invoice_by_id(self) -> DataLoader[uuid.UUID, Invoice | None]:
        return self._get(
            "InvoiceByIdLoader",
            lambda: _by_id(self._session, self._principal, Invoice, access.invoice_scope),
        )

    @property
    def payment_by_id(self) -> DataLoader[uuid.UUID, Payment | None]:
        return self._get(
            "PaymentByIdLoader",
            lambda: _by_id(self._session, self._principal, Payment, access.payment_scope),
        )

    @property
    def contacts_by_client_id(self) -> DataLoader[uuid.UUID, list[Contact]]:
        return self._get(
            "ContactsByClientIdLoader",
            lambda: _many_by(
                self._session, self._principal, Contact, "client_id", access.contact_scope
            ),
        )

    def invoice_lines_by_invoice_id(
        self, columns: frozenset[str] | None = None
    ) -> DataLoader[uuid.UUID, list[Row[Any]]]:
        """Rows of :class:`InvoiceLine`'s ``columns`` (``None``: all), read-only."""
        return self._lines("InvoiceLinesByInvoiceIdLoader", InvoiceLine, "invoice_id", columns)

    def quote_lines_by_quote_id(
        self, columns: frozenset[str] | None = None
    ) -> DataLoader[uuid.UUID, list[Row[Any]]]:
        """Rows of :class:`QuoteLine`'s ``columns`` (``None``: all), read-only."""
        return self._lines("QuoteLinesByQuoteIdLoader", QuoteLine, "quote_id", columns)

    def _lines(
        self, name: str, model: Any, key: str, columns: frozenset[str] | None
    ) -> DataLoader[uuid.UUID, list[Row[Any]]]:
        """A document's lines in order, as rows of ``columns``; one loader (one
        statement) per distinct set of columns."""
        if columns is not None:
            name += ":" + _column_names(columns)
        scope = LINE_SCOPES[model]
        return self._get(
            name,
            lambda: _many_rows_by(
                self._session, self._principal, model, key, scope, "position", columns
            ),
        )

    @property
    def allocations_by_invoice_id(self) -> DataLoader[uuid.UUID, list[PaymentAllocation]]:
        return self._get(
            "AllocationsByInvoiceIdLoader",
            lambda: _many_by(
                self._session,
                self._principal,
                PaymentAllocation,
                "invoice_id",
                access.settled_allocation_scope,
            ),
        )

    @property
    def allocations_by_payment_id(self) -> DataLoader[uuid.UUID, list[PaymentAllocation]]:
        return self._get(
            "AllocationsByPaymentIdLoader",
            lambda: _many_by(
                self._session,
                self._principal,
                PaymentAllocation,
                "payment_id",
                access.payment_allocation_scope,
            ),
        )

    @property
    def refunds_by_payment_id(self) -> DataLoader[uuid.UUID, list[PaymentRefund]]:
        return self._get(
            "RefundsByPaymentIdLoader",
            lambda: _many_by(
                self._session,
                self._principal,
                PaymentRefund,
                "payment_id",
                access.payment_refund_scope,
            ),
        )

    @property
    def dispute_by_payment_id(self) -> DataLoader[uuid.UUID, PaymentDispute | None]:
        """A payment's dispute (Stripe allows one per charge)."""
        return self._get(
            "DisputeByPaymentIdLoader",
            lambda: _by_key(
                self._session,
                self._principal,
                PaymentDispute,
                "payment_id",
                access.payment_dispute_scope,
            ),
        )

    # --- credits, recurring invoices, subscriptions, payment methods -----------------

    @property
    def credit_applications_by_credit_id(
        self,
    ) -> DataLoader[uuid.UUID, list[CreditApplication]]:
        return self._get(
            "CreditApplicationsByCreditIdLoader",
            lambda: _many_by(
                self._session,
                self._principal,
                CreditApplication,
                "credit_id",
                access.credit_application_scope,
            ),
        )

    def recurring_lines_by_recurring_invoice_id(
        self, columns: frozenset[str] | None = None
    ) -> DataLoader[uuid.UUID, list[Row[Any]]]:
        """Rows of :class:`RecurringInvoiceLine`'s ``columns`` (``None``: all), read-only."""
        return self._lines(
            "RecurringLinesByRecurringInvoiceIdLoader",
            RecurringInvoiceLine,
            "recurring_invoice_id",
            columns,
        )

    @property
    def invoices_by_recurring_invoice_id(self) -> DataLoader[uuid.UUID, list[Invoice]]:
        """The invoices a recurring invoice issued, in the caller's invoice scope."""
        return self._get(
            "InvoicesByRecurringInvoiceIdLoader",
            lambda: _many_by(
                self._session,
                self._principal,
                Invoice,
                "recurring_invoice_id",
                access.invoice_scope,
            ),
        )

    @property
    def plan_by_id(self) -> DataLoader[uuid.UUID, SubscriptionPlan | None]:
        return self._get(
            "PlanByIdLoader",
            lambda: _by_id(self._session, self._principal, SubscriptionPlan, access.plan_scope),
        )

    @property
    def payment_method_by_id(self) -> DataLoader[uuid.UUID, SavedPaymentMethod | None]:
        return self._get(
            "PaymentMethodByIdLoader",
            lambda: _by_id(
                self._session, self._principal, SavedPaymentMethod, access.payment_method_scope
            ),
        )

    @property
    def auto_bill_by_invoice_id(self) -> DataLoader[uuid.UUID, InvoiceAutoBill | None]:
        """An invoice's automatic charge (the row's key is the invoice's id)."""
        return self._get(
            "AutoBillByInvoiceIdLoader",
            lambda: _by_key(
                self._session,
                self._principal,
                InvoiceAutoBill,
                "invoice_id",
                access.auto_bill_scope,
            ),
        )

    @property
    def quote_by_id(self) -> DataLoader[uuid.UUID, Quote | None]:
        return self._get(
            "QuoteByIdLoader",
            lambda: _by_id(self._session, self._principal, Quote, access.quote_scope),
        )

    # --- projects, tasks, comments, documents, time logs -----------------------------

    @property
    def project_by_id(self) -> DataLoader[uuid.UUID, Project | None]:
        return self._get(
            "ProjectByIdLoader",
            lambda: _by_id(self._session, self._principal, Project, access.project_scope),
        )

    @property
    def task_by_id(self) -> DataLoader[uuid.UUID, Task | None]:
        return self._get(
            "TaskByIdLoader",
            lambda: _by_id(self._session, self._principal, Task, access.task_scope),
        )

    @property
    def tasks_by_project_id(self) -> DataLoader[uuid.UUID, list[Task]]:
        """A project's tasks in board order; contacts get only the shared ones."""
        return self._get(
            "TasksByProjectIdLoader",
            lambda: _many_by(
                self._session,
                self._principal,
                Task,
                "project_id",
                access.task_scope,
                order_by="position",
            ),
        )

    @property
    def comments_by_task_id(self) -> DataLoader[uuid.UUID, list[TaskComment]]:
        """Oldest first. Tenant-scoped: a task is itself read through its scope first."""
        return self._get(
            "CommentsByTaskIdLoader",
            lambda: _many_by(
                self._session, self._principal, TaskComment, "task_id", access.task_comment_scope
            ),
        )

    @property
    def documents_by_project_id(self) -> DataLoader[uuid.UUID, list[Document]]:
        """A project's documents; contacts get only those shared with or uploaded by
        their client."""
        return self._get(
            "DocumentsByProjectIdLoader",
            lambda: _many_by(
                self._session, self._principal, Document, "project_id", access.document_scope
            ),
        )

    @property
    def time_logs_by_project_id(self) -> DataLoader[uuid.UUID, list[TimeLog]]:
        return self._get(
            "TimeLogsByProjectIdLoader",
            lambda: _many_by(
                self._session,
                self._principal,
                TimeLog,
                "project_id",
                access.time_log_scope,
                order_by="started_at",
            ),
        )

    @property
    def invoices_by_project_id(self) -> DataLoader[uuid.UUID, list[Invoice]]:
        """A project's invoices in the caller's invoice scope (contacts: no drafts)."""
        return self._get(
            "InvoicesByProjectIdLoader",
            lambda: _many_by(
                self._session, self._principal, Invoice, "project_id", access.invoice_scope
            ),
        )

    @property
    def document_by_id(self) -> DataLoader[uuid.UUID, Document | None]:
        return self._get(
            "DocumentByIdLoader",
            lambda: _by_id(self._session, self._principal, Document, access.document_scope),
        )

    @property
    def project_activity_by_project_id(self) -> DataLoader[uuid.UUID, list[Activity]]:
        """A project's timeline, oldest first: the entries about the project and about
        its tasks, time logs, invoices and documents that the caller sees."""
        return self._get(
            "ProjectActivityByProjectIdLoader",
            lambda: _project_activity(self._session, self._principal),
        )

    @property
    def ticket_by_id(self) -> DataLoader[uuid.UUID, SupportTicket | None]:
        return self._get(
            "SupportTicketByIdLoader",
            lambda: _by_id(
                self._session, self._principal, SupportTicket, access.support_ticket_scope
            ),
        )

    @property
    def messages_by_ticket_id(self) -> DataLoader[uuid.UUID, list[TicketMessage]]:
        """Oldest first; contacts never get internal notes."""
        return self._get(
            "TicketMessagesByTicketIdLoader",
            lambda: _many_by(
                self._session,
                self._principal,
                TicketMessage,
                "ticket_id",
                access.ticket_message_scope,
            ),
        )

    @property
    def followed_by_subject_id(self) -> DataLoader[uuid.UUID, bool]:
        """Whether the caller follows each subject (task or ticket)."""
        return self._get(
            "FollowedBySubjectIdLoader", lambda: _followed(self._session, self._principal)
        )

    @property
    def contact_by_id(self) -> DataLoader[uuid.UUID, Contact | None]:
        return self._get(
            "ContactByIdLoader",
            lambda: _by_id(self._session, self._principal, Contact, access.contact_scope),
        )

    @property
    def staff_name_by_id(self) -> DataLoader[uuid.UUID, str | None]:
        """Staff users' display names within the caller's account, for any caller of the
        account (a contact reads who commented on a task): names only, never the rows."""
        return self._get(
            "StaffNameByIdLoader", lambda: _staff_names(self._session, self._principal)
        )

    @property
    def activities_by_subject_id(self) -> DataLoader[uuid.UUID, list[Activity]]:
        """A subject's timeline, oldest first, in the caller's activity scope."""
        return self._get(
            "ActivitiesBySubjectIdLoader",
            lambda: _many_by(
                self._session, self._principal, Activity, "subject_id", access.activity_scope
            ),
        )

    @property
    def api_token_name_by_id(self) -> DataLoader[uuid.UUID, str | None]:
        """API tokens' names in the caller's token scope (who acted in the timeline):
        staff read their account's, a partner only its own."""
        return self._get(
            "ApiTokenNameByIdLoader", lambda: _api_token_names(self._session, self._principal)
        )


def _staff_names(session: AsyncSession, principal: Principal) -> DataLoader[uuid.UUID, str | None]:
    async def load(keys: list[uuid.UUID]) -> Sequence[str | None]:
        rows = (
            await session.exec(
                select(StaffUser.id, StaffUser.name).where(
                    col(StaffUser.id).in_(keys), *access.staff_name_scope(principal)
                )
            )
        ).all()
        names = dict(rows)
        return [names.get(key) for key in keys]

    return DataLoader(load_fn=load)


def _api_token_names(
    session: AsyncSession, principal: Principal
) -> DataLoader[uuid.UUID, str | None]:
    async def load(keys: list[uuid.UUID]) -> Sequence[str | None]:
        rows = (
            await session.exec(
                select(ApiToken.id, ApiToken.name).where(
                    col(ApiToken.id).in_(keys), *access.api_token_scope(principal)
                )
            )
        ).all()
        names = dict(rows)
        return [names.get(key) for key in keys]

    return DataLoader(load_fn=load)


def _followed(session: AsyncSession, principal: Principal) -> DataLoader[uuid.UUID, bool]:
    if isinstance(principal, StaffPrincipal):
        key: str | None = f"staff:{principal.user_id}"
    elif isinstance(principal, ContactPrincipal):
        key = f"contact:{principal.contact_id}"
    else:
        key = None

    async def load(keys: list[uuid.UUID]) -> Sequence[bool]:
        if key is None:
            return [False for _ in keys]
        rows = (
            await session.exec(
                select(Follow.subject_id).where(
                    col(Follow.subject_id).in_(keys), Follow.follower_key == key
                )
            )
        ).all()
        found = set(rows)
        return [subject in found for subject in keys]

    return DataLoader(load_fn=load)


def _project_activity(
    session: AsyncSession, principal: Principal
) -> DataLoader[uuid.UUID, list[Activity]]:
    parts: list[tuple[Any, Scope]] = [
        (Task, access.task_scope),
        (TimeLog, access.time_log_scope),
        (Invoice, access.invoice_scope),
        (Document, access.document_scope),
    ]

    async def load(keys: list[uuid.UUID]) -> Sequence[list[Activity]]:
        owner: dict[uuid.UUID, uuid.UUID] = {key: key for key in keys}
        for model, scope in parts:
            rows = (
                await session.exec(
                    select(model.id, model.project_id).where(
                        col(model.project_id).in_(keys), *scope(principal)
                    )
                )
            ).all()
            owner.update(dict(rows))
        entries = (
            await session.exec(
                select(Activity)
                .where(col(Activity.subject_id).in_(list(owner)), *access.activity_scope(principal))
                .order_by(col(Activity.created_at), col(Activity.id))
            )
        ).all()
        grouped: dict[uuid.UUID, list[Activity]] = defaultdict(list)
        for entry in entries:
            if entry.subject_id is not None:
                grouped[owner[entry.subject_id]].append(entry)
        return [grouped.get(key, []) for key in keys]

    return DataLoader(load_fn=load)
