"""Recurring billing, one module per concept: schedules staff manage and clients choose
auto-bill on (:mod:`.schedules`), the date rules (:mod:`.periods`), issuing a schedule's
due invoices (:mod:`.issuing`), the job that runs it (:mod:`.scheduler`) and
subscriptions (:mod:`.subscriptions`).

The names below are the package's public actions and types, so callers may write
``recurring.start_recurring_invoice``.
"""

from services.recurring.issuing import IssuedInvoice, issue_due_invoices
from services.recurring.schedules import (
    RecurringData,
    RecurringInvoiceFilter,
    charges_automatically,
    client_may_choose_auto_bill,
    create_recurring_invoice,
    delete_recurring_invoice,
    invoices_page,
    list_recurring_invoices,
    pause_recurring_invoice,
    resume_recurring_invoice,
    set_auto_bill,
    start_recurring_invoice,
    upcoming_send_dates,
    update_recurring_invoice,
)

__all__ = [
    "IssuedInvoice",
    "RecurringData",
    "RecurringInvoiceFilter",
    "charges_automatically",
    "client_may_choose_auto_bill",
    "create_recurring_invoice",
    "delete_recurring_invoice",
    "invoices_page",
    "issue_due_invoices",
    "list_recurring_invoices",
    "pause_recurring_invoice",
    "resume_recurring_invoice",
    "set_auto_bill",
    "start_recurring_invoice",
    "upcoming_send_dates",
    "update_recurring_invoice",
]
