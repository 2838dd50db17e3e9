"""Quotes (estimates and proposals): drafts, sending, and the client's answer.

A sent quote is SENT, then VIEWED once a contact of the client opens it. A BILLING
contact approves or declines it while it is SENT or VIEWED and not past its valid-until
date. An approved quote is APPROVED, or CONVERTED when the account turns approved quotes
into invoices: then ``converted_invoice_id`` names the sent invoice the client pays.

The client's transitions are compare-and-set updates (``WHERE status IN (...)``) taken
after the row lock, so two answers racing for one quote settle it once on every
database: on PostgreSQL the lock queues them, on SQLite (no ``FOR UPDATE``) the guarded
update tells the loser, which then answers with the winner's result.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from models.accounts import Account
from models.enums import QuoteKind, QuoteStatus
from models.invoices import Invoice
from models.quotes import Quote, QuoteLine
from models.types import utcnow
from services.access import access_client, access_quote, invoice_scope, quote_scope
from services.errors import BadInput, Conflict, Forbidden
from services.events import quotes as quote_events
from services.invoices import create_invoice_from_quote, next_number
from services.lines import LineData, replace_lines
from services.money import validate_currency
from services.pagination import Page, paginate
from services.portal.documents import email_document
from services.unit_of_work import UnitOfWork
from services.validation import DOCUMENT_TEXTS, apply_document_texts, optional_text


@dataclass(slots=True)
class QuoteData:
    client_id: uuid.UUID | None = None
    kind: QuoteKind | None = None
    currency: str | None = None
    title: str | None = None
    issue_date: date | None = None
    valid_until: date | None = None
    public_notes: str | None = None
    private_notes: str | None = None
    terms: str | None = None
    lines: list[LineData] | None = None


@dataclass(slots=True)
class QuoteFilter:
    client_id: uuid.UUID | None = None
    statuses: list[QuoteStatus] = field(default_factory=list)
    kind: QuoteKind | None = None


async def list_quotes(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: QuoteFilter,
    first: int | None,
    after: str | None,
) -> Page[Quote]:
    statement = select(Quote).where(*quote_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(Quote.client_id == filters.client_id)
    if filters.statuses:
        statement = statement.where(Quote.status.in_(filters.statuses))  # type: ignore[attr-defined]
    if filters.kind is not None:
        statement = statement.where(Quote.kind == filters.kind)
    return await paginate(session, statement, Quote, first=first, after=after)


OPEN_STATUSES = (QuoteStatus.SENT, QuoteStatus.VIEWED)
"""A client may approve or decline a quote in these."""
APPROVED_STATUSES = (QuoteStatus.APPROVED, QuoteStatus.CONVERTED)
MAX_DECLINE_REASON = 2000


@dataclass(slots=True)
class ApprovalData:
    """What the client gives on approval; the account's settings say what is required."""

    accept_terms: bool = False
    po_number: str | None = None
    signature_name: str | None = None


@dataclass(slots=True)
class Approval:
    """An approved quote and, when it was converted, its invoice (``None`` also when
    the caller may no longer see that invoice, e.g. after it was voided)."""

    quote: Quote
    invoice: Invoice | None


def is_expired(quote: Quote, today: date | None = None) -> bool:
    today = today or utcnow().date()
    return quote.valid_until is not None and quote.valid_until < today


def local_today(timezone: str | None) -> date:
    """Today in the IANA zone ``timezone`` (UTC when it is unset or unknown): a quote is
    valid through its valid-until date where the business is."""
    try:
        zone: Any = ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return utcnow().astimezone(zone).date()


async def _account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    account = await session.get(Account, account_id)
    if account is None:  # pragma: no cover - every principal belongs to an account
        raise Forbidden()
    return account


async def create_quote(*, session: AsyncSession, actor: StaffPrincipal, data: QuoteData) -> Quote:
    if data.client_id is None:
        raise BadInput("This field is required.", field="clientId")
    client = await access_client(session, actor, data.client_id)
    if client.archived_at is not None:
        raise Conflict("Archived clients cannot receive quotes.", field="clientId")
    quote = Quote(
        account_id=actor.account_id,
        client_id=client.id,
        kind=data.kind or QuoteKind.ESTIMATE,
        currency=validate_currency(data.currency or client.currency),
        title=optional_text(data.title, field="title", max_length=200),
        issue_date=data.issue_date or utcnow().date(),
        valid_until=data.valid_until,
        created_by_id=actor.user_id,
    )
    apply_document_texts(quote, data)
    if quote.valid_until and quote.issue_date and quote.valid_until < quote.issue_date:
        raise BadInput("A quote cannot expire before it is issued.", field="validUntil")
    session.add(quote)
    await session.flush()
    await replace_lines(session, QuoteLine, "quote_id", quote, data.lines or [])
    quote_events.created(session, quote, actor)
    return quote


async def send_quote(
    work: UnitOfWork, *, actor: StaffPrincipal, quote_id: uuid.UUID, notify: bool = True
) -> Quote:
    """Send a quote (again), numbering it on its first send, and mail it to the client's
    contacts who may read quotes (``notify=False``: delivered outside Portico, as the
    demo's are)."""
    session = work.session
    quote = await access_quote(session, actor, quote_id, lock=True)
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.SENT, QuoteStatus.VIEWED):
        raise Conflict(f"A {quote.status.value.lower()} quote cannot be sent.")
    account = await _account(session, actor.account_id)
    if is_expired(quote, local_today(account.timezone)):
        raise Conflict("This quote has expired; extend its valid-until date first.")
    if quote.total <= 0:
        raise Conflict("A quote needs a total above zero to be sent.")
    if quote.number is None:
        quote.number = await next_number(session, actor.account_id, "quote")
    now = utcnow()
    if quote.status is QuoteStatus.DRAFT:
        quote.status = QuoteStatus.SENT
    quote.sent_at = now
    quote.updated_at = now
    quote_events.sent(session, quote, actor)
    if notify:
        await email_document(work, quote)
    return quote


async def _transition(
    session: AsyncSession, quote: Quote, allowed: tuple[QuoteStatus, ...], **values: Any
) -> bool:
    """Set ``values`` on ``quote`` only if its stored status is still one of ``allowed``
    (compare-and-set). True when it changed; otherwise ``quote`` is reloaded with what
    another transaction committed first."""
    changed = (
        await session.exec(
            update(Quote)
            .where(
                Quote.id == quote.id,  # type: ignore[arg-type]
                Quote.status.in_(allowed),  # type: ignore[attr-defined]
            )
            .values(**values)
            .returning(col(Quote.id))
            .execution_options(synchronize_session=False)
        )
    ).first()
    if changed is None:
        await session.refresh(quote)
        return False
    for name, value in values.items():
        set_committed_value(quote, name, value)  # already stored: nothing left to flush
    return True


async def _approval_of(session: AsyncSession, actor: Principal, quote: Quote) -> Approval:
    """The result an earlier approval of ``quote`` gave (approving again changes nothing)."""
    invoice = None
    if quote.converted_invoice_id is not None:
        invoice = (
            await session.exec(
                select(Invoice).where(
                    Invoice.id == quote.converted_invoice_id, *invoice_scope(actor)
                )
            )
        ).one_or_none()
    return Approval(quote=quote, invoice=invoice)


def _declined(quote: Quote) -> bool:
    return quote.status is QuoteStatus.DECLINED


def _not_open(quote: Quote, action: str) -> Conflict:
    return Conflict(
        f"This quote is {quote.status.value.lower()}; only a sent quote can be {action}."
    )


def _approval_fields(
    account: Account, data: ApprovalData, *, now: datetime, client_address: str
) -> dict[str, Any]:
    """The columns an approval stores, after the account's requirements are checked."""
    po_number = optional_text(
        data.po_number, field="poNumber", max_length=DOCUMENT_TEXTS["po_number"][1]
    )
    signature_name = optional_text(data.signature_name, field="signatureName", max_length=200)
    if account.quote_requires_terms and not data.accept_terms:
        raise BadInput("Accept the terms to approve this quote.", field="acceptTerms")
    if account.quote_requires_po_number and po_number is None:
        raise BadInput("A purchase order number is required.", field="poNumber")
    if account.quote_requires_signature and signature_name is None:
        raise BadInput("Type your full name to sign this quote.", field="signatureName")
    values: dict[str, Any] = {}
    if data.accept_terms:
        values["terms_accepted_at"] = now
    if po_number is not None:
        values["po_number"] = po_number
    if signature_name is not None:
        values["signature_name"] = signature_name
        values["signature_at"] = now
        values["signature_ip"] = client_address[:64]
    return values


async def approve_quote(
    work: UnitOfWork,
    *,
    actor: ContactPrincipal,
    quote_id: uuid.UUID,
    data: ApprovalData,
    client_address: str,
) -> Approval:
    """A client's billing contact approves a sent quote.

    Refused when the quote is not SENT or VIEWED (:class:`Conflict`), past its
    valid-until date in the account's time zone (:class:`Conflict`), or missing the
    terms acceptance, PO number or typed signature the account requires
    (:class:`BadInput` naming the field). The signature is stored with its time and the
    client's address. With ``convert_quote_on_approval`` the quote becomes CONVERTED and
    a sent, numbered invoice is created from it; else it is APPROVED.

    Idempotent: approving an approved or converted quote again (a double click, or two
    contacts at once) changes nothing and answers the first approval's result, so one
    quote never makes two invoices.
    """
    session = work.session
    if actor.read_only:
        raise Forbidden()
    quote = await access_quote(session, actor, quote_id, lock=True)
    if quote.status in APPROVED_STATUSES:
        return await _approval_of(session, actor, quote)
    if quote.status not in OPEN_STATUSES:
        raise _not_open(quote, "approved")
    account = await _account(session, actor.account_id)
    if is_expired(quote, local_today(account.timezone)):
        raise Conflict(
            f"This quote expired on {quote.valid_until}; ask for an updated quote.",
            field="validUntil",
        )
    now = utcnow()
    values = _approval_fields(account, data, now=now, client_address=client_address)
    claimed = await _transition(
        session,
        quote,
        OPEN_STATUSES,
        status=QuoteStatus.APPROVED,
        approved_at=now,
        viewed_at=quote.viewed_at or now,
        updated_at=now,
        **values,
    )
    if not claimed:
        if quote.status in APPROVED_STATUSES:
            return await _approval_of(session, actor, quote)
        raise _not_open(quote, "approved")
    quote_events.approved(session, quote, actor)
    if not account.convert_quote_on_approval:
        return Approval(quote=quote, invoice=None)
    invoice = await create_invoice_from_quote(
        work, actor=actor, quote=quote, issue_date=local_today(account.timezone)
    )
    quote.status = QuoteStatus.CONVERTED
    quote.converted_invoice_id = invoice.id
    quote_events.converted(session, quote, actor, invoice=invoice)
    return Approval(quote=quote, invoice=invoice)


async def decline_quote(
    *, session: AsyncSession, actor: ContactPrincipal, quote_id: uuid.UUID, reason: str | None
) -> Quote:
    """A client's billing contact declines a SENT or VIEWED quote, optionally saying why
    (trimmed, at most :data:`MAX_DECLINE_REASON` characters). Declining a declined quote
    again changes nothing; any other status is a :class:`Conflict`."""
    if actor.read_only:
        raise Forbidden()
    quote = await access_quote(session, actor, quote_id, lock=True)
    if _declined(quote):
        return quote
    if quote.status not in OPEN_STATUSES:
        raise _not_open(quote, "declined")
    reason = optional_text(reason, field="reason", max_length=MAX_DECLINE_REASON)
    now = utcnow()
    claimed = await _transition(
        session,
        quote,
        OPEN_STATUSES,
        status=QuoteStatus.DECLINED,
        declined_at=now,
        decline_reason=reason,
        viewed_at=quote.viewed_at or now,
        updated_at=now,
    )
    if not claimed:
        if _declined(quote):
            return quote
        raise _not_open(quote, "declined")
    quote_events.declined(session, quote, actor)
    return quote


async def mark_quote_viewed(
    *, session: AsyncSession, actor: Principal, quote_id: uuid.UUID
) -> Quote:
    """Record that the client opened a quote: SENT becomes VIEWED with ``viewed_at``.

    Only a contact of the client counts; staff, partners and staff viewing the portal
    as a contact (read-only) read the quote without changing it. Any other status is
    left as it is."""
    quote = await access_quote(session, actor, quote_id)
    if not isinstance(actor, ContactPrincipal) or actor.read_only:
        return quote
    if quote.status is not QuoteStatus.SENT:
        return quote
    now = utcnow()
    viewed = await _transition(
        session,
        quote,
        (QuoteStatus.SENT,),
        status=QuoteStatus.VIEWED,
        viewed_at=now,
        updated_at=now,
    )
    if viewed:
        quote_events.viewed(session, quote, actor)
    return quote
