"""Quotes (estimates and proposals): drafts and sending. Approval and declining come
with the billing work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.enums import QuoteKind, QuoteStatus
from models.quotes import Quote, QuoteLine
from models.types import utcnow
from services import activity
from services.access import access_client, access_quote, quote_scope
from services.errors import BadInput, Conflict
from services.invoices import next_number
from services.lines import LineData, replace_lines
from services.money import validate_currency
from services.pagination import Page, paginate
from services.validation import optional_text


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


def is_expired(quote: Quote, today: date | None = None) -> bool:
    today = today or utcnow().date()
    return quote.valid_until is not None and quote.valid_until < today


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
        public_notes=optional_text(data.public_notes, field="publicNotes", max_length=10000),
        private_notes=optional_text(data.private_notes, field="privateNotes", max_length=10000),
        terms=optional_text(data.terms, field="terms", max_length=10000),
        created_by_id=actor.user_id,
    )
    if quote.valid_until and quote.issue_date and quote.valid_until < quote.issue_date:
        raise BadInput("A quote cannot expire before it is issued.", field="validUntil")
    session.add(quote)
    await session.flush()
    await replace_lines(session, QuoteLine, "quote_id", quote, data.lines or [])
    activity.record(
        session,
        account_id=actor.account_id,
        actor=actor,
        verb="quote.created",
        subject_type="quote",
        subject_id=quote.id,
        client_id=client.id,
        visible_to_client=False,
    )
    return quote


async def send_quote(*, session: AsyncSession, actor: StaffPrincipal, quote_id: uuid.UUID) -> Quote:
    quote = await access_quote(session, actor, quote_id, lock=True)
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.SENT, QuoteStatus.VIEWED):
        raise Conflict(f"A {quote.status.value.lower()} quote cannot be sent.")
    if is_expired(quote):
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
    activity.record(
        session,
        account_id=actor.account_id,
        actor=actor,
        verb="quote.sent",
        subject_type="quote",
        subject_id=quote.id,
        client_id=quote.client_id,
        details={"number": quote.number},
    )
    return quote
