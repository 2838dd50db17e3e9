"""The demo data set: complete, consistent and idempotent."""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import select

from auth.tokens import TokenSigner
from models.accounts import Account, StaffUser
from models.activity import Activity, EventTopic, SubjectType, Verb
from models.clients import Client, Contact
from models.credits import Credit, CreditApplication
from models.documents import Document
from models.enums import (
    ActorKind,
    ContactRole,
    InvoiceStatus,
    QuoteKind,
    QuoteStatus,
    RecurringStatus,
    StaffRole,
)
from models.events import OutboxEvent
from models.invoices import Invoice, InvoiceLine
from models.mail import MailMessage
from models.payments import Payment, PaymentAllocation
from models.projects import Task
from models.quotes import Quote, QuoteLine
from models.recurring import RecurringInvoice, RecurringInvoiceLine
from models.subscriptions import Subscription
from server.migrate import upgrade_engine
from services.accounts import create_account
from services.config import Settings
from services.db import create_engine, session_factory
from services.demo import DEMO_PASSWORD, DEMO_SLUG, seed_demo
from services.invoices import is_overdue
from services.ratelimit import RateLimiter
from services.runtime import Runtime
from services.sessions import sign_in_staff
from services.unit_of_work import UnitOfWork


@pytest.fixture
async def db(tmp_path):
    """A session on a fresh, migrated SQLite database."""
    url = "sqlite+aiosqlite:///" + str(tmp_path / "demo.sqlite3")
    engine = create_engine(url)
    settings = Settings(
        environment="test",
        database_url=url,
        secret_key="s" * 40,
        upload_dir=tmp_path / "uploads",  # the demo's files
    )
    runtime = Runtime.build(settings, engine)
    try:
        await upgrade_engine(engine)
        async with session_factory(engine)() as session:
            session.info[_RUNTIME] = runtime
            yield session
    finally:
        await runtime.mailer.close()
        await engine.dispose()


_RUNTIME = "test.runtime"


def work(session) -> UnitOfWork:
    """The seeding's unit of work on the test's session (the test commits, or reads on)."""
    return UnitOfWork(session=session, runtime=session.info[_RUNTIME])


async def count(session, model) -> int:
    return int((await session.exec(select(func.count()).select_from(model))).one())


async def all_rows(session, model):
    return (await session.exec(select(model))).all()


async def test_seed_creates_the_demo_account_with_one_staff_user_per_role(db):
    created, logins = await seed_demo(work(db))
    await db.commit()

    assert created is True
    accounts = await all_rows(db, Account)
    assert [a.slug for a in accounts] == [DEMO_SLUG]
    account = accounts[0]
    assert account.name == "Demo Studio"
    assert account.currency == "USD"
    assert account.logo_url is not None
    assert account.logo_url.startswith("https://example.com/")
    assert account.registration_enabled is False
    assert account.password_login_enabled is True

    staff = await all_rows(db, StaffUser)
    assert sorted(u.role for u in staff) == sorted(StaffRole)
    assert all(u.account_id == account.id and u.password_hash for u in staff)

    emails = [email for email, _label in logins]
    assert len(emails) == len(set(emails))
    contacts = await all_rows(db, Contact)
    assert set(emails) == {u.email for u in staff} | {c.email for c in contacts}


async def test_every_invoice_status_and_contact_role_is_present(db):
    await seed_demo(work(db))

    invoices = await all_rows(db, Invoice)
    assert {i.status for i in invoices} == set(InvoiceStatus)
    assert any(is_overdue(i) for i in invoices)
    assert any(i.deposit_amount for i in invoices)
    assert all(i.number for i in invoices if i.status is not InvoiceStatus.DRAFT)

    contacts = await all_rows(db, Contact)
    assert {c.role for c in contacts} == set(ContactRole)
    clients = await all_rows(db, Client)
    assert len(clients) == 3
    billing = {c.client_id for c in contacts if c.role is ContactRole.BILLING}
    assert billing == {c.id for c in clients}
    assert any(c.modules is not None for c in clients)


async def test_quotes_cover_the_main_statuses_and_both_kinds(db):
    await seed_demo(work(db))

    quotes = await all_rows(db, Quote)
    statuses = {q.status for q in quotes}
    assert {QuoteStatus.DRAFT, QuoteStatus.SENT, QuoteStatus.APPROVED, QuoteStatus.DECLINED} <= (
        statuses
    )
    sent_kinds = {q.kind for q in quotes if q.status is QuoteStatus.SENT}
    assert sent_kinds == set(QuoteKind)
    assert all(q.approved_at for q in quotes if q.status is QuoteStatus.APPROVED)
    assert all(q.decline_reason for q in quotes if q.status is QuoteStatus.DECLINED)


async def test_totals_match_lines_and_balances_are_never_negative(db):
    await seed_demo(work(db))
    await db.commit()

    line_totals: dict[object, Decimal] = defaultdict(Decimal)
    for line in await all_rows(db, InvoiceLine):
        line_totals[line.invoice_id] += line.line_total
    invoices = await all_rows(db, Invoice)
    for invoice in invoices:
        assert invoice.total == line_totals[invoice.id], invoice.number
        assert invoice.total > 0
        owed = invoice.total - invoice.amount_paid - invoice.credits_applied
        assert invoice.balance == (0 if invoice.status is InvoiceStatus.VOID else owed)
        assert invoice.balance >= 0, invoice.number

    quote_totals: dict[object, Decimal] = defaultdict(Decimal)
    for line in await all_rows(db, QuoteLine):
        quote_totals[line.quote_id] += line.line_total
    assert all(q.total == quote_totals[q.id] for q in await all_rows(db, Quote))

    recurring = (await all_rows(db, RecurringInvoice))[0]
    lines = await all_rows(db, RecurringInvoiceLine)
    assert recurring.total == sum((line.line_total for line in lines), Decimal(0)) > 0


async def test_payments_and_credits_add_up(db):
    await seed_demo(work(db))
    await db.commit()

    allocations = await all_rows(db, PaymentAllocation)
    allocated: dict[object, Decimal] = defaultdict(Decimal)
    for allocation in allocations:
        allocated[allocation.payment_id] += allocation.amount
    payments = await all_rows(db, Payment)
    assert all(allocated[p.id] <= p.amount for p in payments)
    assert any(p.amount > allocated[p.id] for p in payments), "an unapplied remainder"
    per_payment = defaultdict(set)
    for allocation in allocations:
        per_payment[allocation.payment_id].add(allocation.invoice_id)
    assert any(len(invoices) == 2 for invoices in per_payment.values())

    paid_per_invoice: dict[object, Decimal] = defaultdict(Decimal)
    for allocation in allocations:
        paid_per_invoice[allocation.invoice_id] += allocation.amount
    applied_per_invoice: dict[object, Decimal] = defaultdict(Decimal)
    applications = await all_rows(db, CreditApplication)
    for application in applications:
        applied_per_invoice[application.invoice_id] += application.amount
    for invoice in await all_rows(db, Invoice):
        assert invoice.amount_paid == paid_per_invoice[invoice.id]
        assert invoice.credits_applied == applied_per_invoice[invoice.id]

    assert applications
    for credit in await all_rows(db, Credit):
        used = sum((a.amount for a in applications if a.credit_id == credit.id), Decimal(0))
        assert credit.balance == credit.amount - used >= 0
    assert (await all_rows(db, Subscription))[0].status.value == "ACTIVE"


async def test_seeding_mails_nothing(db):
    await seed_demo(work(db))
    await db.commit()

    assert await count(db, MailMessage) == 0


async def test_every_activity_entry_has_a_verb_of_the_vocabulary(db):
    await seed_demo(work(db))

    entries = await all_rows(db, Activity)
    verbs = {v.value for v in Verb}
    assert entries
    assert {e.verb for e in entries} <= verbs
    assert all(e.subject_type == Verb(e.verb).subject_type for e in entries)


async def test_invoice_outbox_events_match_their_activity_entries(db):
    await seed_demo(work(db))
    await db.commit()

    entries = [e for e in await all_rows(db, Activity) if e.subject_type == SubjectType.INVOICE]
    events = await all_rows(db, OutboxEvent)
    assert {e.topic for e in events} == {EventTopic.INVOICE}
    for invoice in await all_rows(db, Invoice):
        recorded = Counter(e.verb for e in entries if e.subject_id == invoice.id)
        published = Counter(e.kind for e in events if e.subject_id == invoice.id)
        assert recorded == published, invoice.number
        assert recorded[Verb.INVOICE_CREATED] == 1, invoice.number
        if invoice.status is not InvoiceStatus.DRAFT:
            assert recorded[Verb.INVOICE_SENT] == 1, invoice.number
        if invoice.viewed_at is not None:
            assert recorded[Verb.INVOICE_VIEWED] == 1, invoice.number
        if invoice.status is InvoiceStatus.PAID:
            assert recorded[Verb.INVOICE_PAID] == 1, invoice.number
        if invoice.applied > 0:
            assert recorded[Verb.INVOICE_PAYMENT_APPLIED] >= 1, invoice.number
        if invoice.status is InvoiceStatus.VOID:
            assert recorded[Verb.INVOICE_VOIDED] == 1, invoice.number


async def test_what_contacts_do_is_recorded_as_the_contact(db):
    await seed_demo(work(db))

    contact_verbs = {
        Verb.INVOICE_VIEWED,
        Verb.QUOTE_VIEWED,
        Verb.QUOTE_APPROVED,
        Verb.QUOTE_DECLINED,
        Verb.RECURRING_INVOICE_AUTO_BILL_CHANGED,
    }
    entries = await all_rows(db, Activity)
    billing = {c.id for c in await all_rows(db, Contact) if c.role is ContactRole.BILLING}
    by_contacts = [e for e in entries if e.verb in contact_verbs]
    assert {e.verb for e in by_contacts} == contact_verbs
    assert all(e.actor_kind is ActorKind.CONTACT and e.actor_id in billing for e in by_contacts)
    others = [e for e in entries if e.verb not in contact_verbs]
    assert all(e.actor_kind is ActorKind.STAFF for e in others)


async def test_the_recurring_invoice_is_started_and_auto_billed(db):
    await seed_demo(work(db))

    recurring = (await all_rows(db, RecurringInvoice))[0]
    assert recurring.status is RecurringStatus.ACTIVE
    assert recurring.next_send_date is not None
    assert recurring.next_send_date > datetime.datetime.now(datetime.UTC).date()
    assert recurring.auto_bill_enabled is True
    assert recurring.payment_method_id is not None


async def test_portal_visibility_flags_are_mixed(db):
    await seed_demo(work(db))

    tasks = await all_rows(db, Task)
    assert {t.shared_with_client for t in tasks} == {True, False}
    documents = await all_rows(db, Document)
    assert {d.visible_in_portal for d in documents} == {True, False}
    assert len({d.storage_key for d in documents}) == len(documents)
    runtime = db.info[_RUNTIME]
    for document in documents:  # each file is stored, as an upload's would be
        stored = runtime.settings.upload_dir / document.storage_key
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == document.sha256


async def test_seeding_twice_changes_nothing(db):
    created, logins = await seed_demo(work(db))
    await db.commit()
    before = [await count(db, model) for model in (Invoice, Client, Contact, Quote, Payment)]

    again, logins_again = await seed_demo(work(db))
    await db.commit()

    assert (created, again) == (True, False)
    assert logins_again == logins
    after = [await count(db, model) for model in (Invoice, Client, Contact, Quote, Payment)]
    assert after == before


async def test_only_if_empty_leaves_a_used_database_alone(db):
    await create_account(db, name="Someone Else", slug="someone")
    await db.commit()

    created, logins = await seed_demo(work(db), only_if_empty=True)

    assert (created, logins) == (False, [])
    assert await count(db, Account) == 1
    assert await count(db, Invoice) == 0


async def test_only_if_empty_seeds_an_empty_database(db):
    created, logins = await seed_demo(work(db), only_if_empty=True)

    assert created is True
    assert logins


async def test_demo_admin_can_sign_in(db):
    _created, logins = await seed_demo(work(db))
    await db.commit()
    admin_email = next(email for email, label in logins if label == "staff ADMIN")

    token = await sign_in_staff(
        session=db,
        signer=TokenSigner("x" * 40),
        limiter=RateLimiter(None),
        email=admin_email,
        password=DEMO_PASSWORD,
        client_address="127.0.0.1",
        ttl=datetime.timedelta(hours=1),
        per_email_limit="5/minute",
        per_address_limit="5/minute",
    )

    assert isinstance(token, str)
    assert token
