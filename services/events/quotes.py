"""The events of a quote's life, one recorder each (:mod:`services.events`).

=====================  ============================  =====================================
verb                   when                          details
=====================  ============================  =====================================
``quote.created``      staff draft it                none
``quote.sent``         staff send it (again)         ``number``
``quote.viewed``       a contact first opens it      ``number``
``quote.approved``     a billing contact approves    ``number``, ``po_number``,
                       it                            ``signature_name`` (either ``None``
                                                     when not given), ``terms_accepted``
``quote.declined``     a billing contact declines    ``number``, ``reason`` (``None``
                       it                            when not given)
``quote.converted``    its approval made an invoice  ``number``, ``invoice_id``,
                                                     ``invoice_number``
=====================  ============================  =====================================

Shown to the client: every entry about a quote the client can see, so never while it is
a draft (its creation stays internal). Quote events do not go to the outbox.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from models.activity import Verb
from models.enums import QuoteStatus
from models.invoices import Invoice
from models.quotes import Quote
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    quote: Quote,
    actor: Principal,
    details: dict[str, Any] | None = None,
) -> None:
    activity.record(
        session,
        account_id=quote.account_id,
        actor=actor,
        verb=verb,
        subject_id=quote.id,
        client_id=quote.client_id,
        details=details,
        visible_to_client=quote.status is not QuoteStatus.DRAFT,
    )


def created(session: AsyncSession, quote: Quote, actor: StaffPrincipal) -> None:
    _record(session, Verb.QUOTE_CREATED, quote, actor)


def sent(session: AsyncSession, quote: Quote, actor: StaffPrincipal) -> None:
    _record(session, Verb.QUOTE_SENT, quote, actor, {"number": quote.number})


def viewed(session: AsyncSession, quote: Quote, actor: ContactPrincipal) -> None:
    _record(session, Verb.QUOTE_VIEWED, quote, actor, {"number": quote.number})


def approved(session: AsyncSession, quote: Quote, actor: ContactPrincipal) -> None:
    """What the client gave with the approval is read from the approved quote."""
    _record(
        session,
        Verb.QUOTE_APPROVED,
        quote,
        actor,
        {
            "number": quote.number,
            "po_number": quote.po_number,
            "signature_name": quote.signature_name,
            "terms_accepted": quote.terms_accepted_at is not None,
        },
    )


def declined(session: AsyncSession, quote: Quote, actor: ContactPrincipal) -> None:
    """The reason is read from the declined quote."""
    _record(
        session,
        Verb.QUOTE_DECLINED,
        quote,
        actor,
        {"number": quote.number, "reason": quote.decline_reason},
    )


def converted(
    session: AsyncSession, quote: Quote, actor: ContactPrincipal, *, invoice: Invoice
) -> None:
    """The approved quote became ``invoice`` (its own ``invoice.created`` and
    ``invoice.sent`` are recorded by :func:`services.invoices.issue_invoice`)."""
    _record(
        session,
        Verb.QUOTE_CONVERTED,
        quote,
        actor,
        {
            "number": quote.number,
            "invoice_id": str(invoice.id),
            "invoice_number": invoice.number,
        },
    )
