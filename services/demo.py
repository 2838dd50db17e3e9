"""The demo account: a small, realistic data set to explore Portico with.

``portico demo`` calls :func:`seed_demo`, which creates the account ``demo`` ("Demo
Studio"), one staff user per role, three clients with contacts in every role, and
billing data in every state: invoices (draft, sent, overdue, viewed, partly paid, paid,
void, one with a deposit), quotes (draft, sent, approved, declined), payments (one
covering two invoices, one with an unapplied remainder), credits (one applied to an
invoice), a recurring invoice, a subscription with a saved card, and projects with
tasks, comments, documents and time logs.

Every state change goes through the action the API uses, with the principal a real
user would act as (staff, or the client's billing contact for what contacts do in the
portal), so the demo holds what real use leaves behind: numbers, totals, activity
entries and outbox events. History in the past is made by backdating only timestamps
and dates (``sent_at``, ``viewed_at``, ``paid_at``, ...) after the action ran, never a
status or an amount. Dates are relative to today, so the demo always has something
overdue and something due soon. Nothing is mailed: invoices are marked sent, quotes are
sent without mail.

Rows that have no action yet are written directly, each marked so where it happens:
projects, tasks, comments and time logs, documents, saved payment methods and
subscriptions (issues 12 and 13), an invoice's project (``create_invoice`` ignores
``project_id``) and contacts' passwords (only accepting an emailed invite sets one).

Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, StaffPrincipal
from models.accounts import Account, StaffUser
from models.clients import Client, Contact
from models.credits import Credit
from models.documents import Document
from models.enums import (
    AutoBill,
    ContactRole,
    Frequency,
    InvoiceStatus,
    Module,
    PaymentMethodKind,
    PlanInterval,
    ProjectStatus,
    QuoteKind,
    StaffRole,
    SubscriptionStatus,
    TaskStatus,
    TaskVisibility,
)
from models.invoices import Invoice
from models.payment_methods import SavedPaymentMethod
from models.projects import Project, Task, TaskComment
from models.quotes import Quote
from models.subscriptions import Subscription, SubscriptionPlan
from models.time_logs import TimeLog
from models.types import utcnow
from services.accounts import (
    AccountSettingsData,
    create_account,
    create_staff_user,
    update_account_settings,
)
from services.client_modules import contact_modules
from services.clients import ClientData, ContactData, create_client, create_contact
from services.credits import CreditData, apply_credit, create_credit
from services.invoices import (
    InvoiceData,
    create_invoice,
    mark_invoice_sent,
    mark_invoice_viewed,
    void_invoice,
)
from services.lines import LineData
from services.passwords import hash_password
from services.payments import AllocationData, PaymentData, record_payment
from services.quotes import (
    ApprovalData,
    QuoteData,
    approve_quote,
    create_quote,
    decline_quote,
    mark_quote_viewed,
    send_quote,
)
from services.recurring import (
    RecurringData,
    create_recurring_invoice,
    set_auto_bill,
    start_recurring_invoice,
)
from services.unit_of_work import UnitOfWork

DEMO_SLUG = "demo"
DEMO_PASSWORD = "portico-demo"
DEMO_EMAIL_DOMAIN = "demo.test"
"""Staff emails are ``<role>@demo.example`` and contacts' ``<who>@<client>.demo.example``.
``.example`` is reserved (RFC 2606) and, unlike ``.test``, passes email validation."""

STAFF = (
    (StaffRole.OWNER, "Olivia Owner"),
    (StaffRole.ADMIN, "Adam Admin"),
    (StaffRole.MANAGER, "Maya Manager"),
    (StaffRole.MEMBER, "Max Member"),
)

CLIENT_ADDRESS = "203.0.113.10"
"""Where the demo's contacts answer quotes from (a documentation address, RFC 5737)."""

TAX_NY = "NY sales tax"
TAX_DE = "USt."
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class _Demo:
    """What the sections share while seeding."""

    work: UnitOfWork
    account: Account
    staff: dict[StaffRole, StaffUser]
    actor: StaffPrincipal
    """The admin, who does the day-to-day billing."""
    owner: StaffPrincipal
    """The owner, who set the account up."""
    today: date
    now: datetime
    clients: dict[str, Client] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)

    @property
    def session(self) -> AsyncSession:
        return self.work.session

    def days_ago(self, days: int) -> datetime:
        return self.now - timedelta(days=days)

    def day(self, offset: int) -> date:
        """Today plus ``offset`` days (negative: in the past)."""
        return self.today + timedelta(days=offset)


async def seed_demo(
    work: UnitOfWork, *, only_if_empty: bool = False
) -> tuple[bool, list[tuple[str, str]]]:
    """Create the demo account unless it exists; return whether it was created and the
    logins as ``(email, label)``.

    With ``only_if_empty``, nothing happens when the database has any account at all
    (the answer is then ``(False, [])``). Runs in the caller's unit of work; nothing
    is mailed (invoices are marked sent, quotes sent without mail).
    """
    session = work.session
    if only_if_empty and (await session.exec(select(Account.id).limit(1))).first() is not None:
        return False, []
    existing = (await session.exec(select(Account).where(Account.slug == DEMO_SLUG))).first()
    if existing is not None:
        return False, await demo_logins(session, existing)

    demo = await _account_and_staff(work)
    await _clients(demo)
    await _projects(demo)
    await _invoices_and_payments(demo)
    await _quotes(demo)
    await _recurring_and_subscriptions(demo)
    await _documents(demo)
    await session.flush()
    return True, await demo_logins(session, demo.account)


async def demo_logins(session: AsyncSession, account: Account) -> list[tuple[str, str]]:
    """Who can sign in to ``account``: active staff by role, then contacts by client.
    Contacts without a password are labelled as such (they need a magic link)."""
    role_order = list(StaffRole)
    staff = (
        await session.exec(
            select(StaffUser).where(StaffUser.account_id == account.id, StaffUser.is_active)
        )
    ).all()
    logins = [
        (user.email, f"staff {user.role.value}")
        for user in sorted(staff, key=lambda user: (role_order.index(user.role), user.email))
    ]
    contact_order = list(ContactRole)
    rows = (
        await session.exec(
            select(Contact, Client)
            .join(Client, Client.id == Contact.client_id)  # type: ignore[arg-type]
            .where(Contact.account_id == account.id)
        )
    ).all()
    for contact, client in sorted(
        rows, key=lambda row: (row[1].name, contact_order.index(row[0].role), row[0].email)
    ):
        where = client.name if contact.password_hash else f"{client.name}, no password"
        logins.append((contact.email, f"contact {contact.role.value} ({where})"))
    return logins


# --- account and staff ----------------------------------------------------------------


def _staff_principal(account: Account, user: StaffUser) -> StaffPrincipal:
    return StaffPrincipal(
        account_id=account.id, user_id=user.id, role=user.role, session_id=uuid.uuid4()
    )


async def _account_and_staff(work: UnitOfWork) -> _Demo:
    session = work.session
    account = await create_account(session, name="Demo Studio", slug=DEMO_SLUG, currency="USD")
    staff: dict[StaffRole, StaffUser] = {}
    for role, name in STAFF:
        staff[role] = await create_staff_user(
            session,
            account=account,
            email=f"{role.value.lower()}@{DEMO_EMAIL_DOMAIN}",
            name=name,
            role=role,
            password=DEMO_PASSWORD,
        )
    owner = _staff_principal(account, staff[StaffRole.OWNER])
    await update_account_settings(
        session=session,
        actor=owner,
        data=AccountSettingsData(
            timezone="America/New_York",
            primary_color="#7C3AED",
            logo_url="https://example.com/demo-studio/logo.svg",
            background_image_url="https://example.com/demo-studio/portal-background.jpg",
            registration_enabled=False,
            password_login_enabled=True,
            quote_terms=(
                "Prices are valid until the date shown. Work starts once the quote is approved."
            ),
            # Off until the website proposal is approved (see _quotes): the studio
            # invoiced that project by hand, with a deposit, then turned conversion on.
            convert_quote_on_approval=False,
        ),
    )
    now = utcnow()
    return _Demo(
        work=work,
        account=account,
        staff=staff,
        actor=_staff_principal(account, staff[StaffRole.ADMIN]),
        owner=owner,
        today=now.date(),
        now=now,
    )


# --- clients and contacts -------------------------------------------------------------


async def _clients(demo: _Demo) -> None:
    """Acme (USD, contacts may sign in with the demo password), Globex (EUR) and
    Initech (USD, portal narrowed: no subscriptions or saved payment methods)."""
    narrowed: list[Module] = [
        m for m in Module if m not in (Module.SUBSCRIPTIONS, Module.PAYMENT_METHODS)
    ]
    clients = {
        "acme": ClientData(
            name="Acme Corporation",
            company="Acme Corporation Inc.",
            email=f"accounts@acme.{DEMO_EMAIL_DOMAIN}",
            phone="+1 212 555 0100",
            address="1 Acme Plaza\nNew York, NY 10001\nUSA",
            currency="USD",
            private_notes="Long-standing client; pays by bank transfer, usually on time.",
        ),
        "globex": ClientData(
            name="Globex GmbH",
            company="Globex GmbH",
            email=f"buchhaltung@globex.{DEMO_EMAIL_DOMAIN}",
            phone="+49 30 5550 1234",
            address="Friedrichstraße 100\n10117 Berlin\nGermany",
            currency="EUR",
        ),
        "initech": ClientData(
            name="Initech",
            company="Initech LLC",
            email=f"office@initech.{DEMO_EMAIL_DOMAIN}",
            address="4120 Freidrich Lane\nAustin, TX 78744\nUSA",
            currency="USD",
            modules=narrowed,
            private_notes="Portal narrowed: they pay by check, no cards on file.",
        ),
    }
    for key, data in clients.items():
        demo.clients[key] = await create_client(session=demo.session, actor=demo.actor, data=data)

    people = (
        ("acme", "billing", "Beth", "Billings", ContactRole.BILLING),
        ("acme", "collab", "Colin", "Collins", ContactRole.COLLABORATOR),
        ("acme", "viewer", "Vera", "Vance", ContactRole.VIEWER),
        ("globex", "billing", "Hans", "Becker", ContactRole.BILLING),
        ("globex", "collab", "Lena", "Fischer", ContactRole.COLLABORATOR),
        ("initech", "billing", "Bill", "Lumbergh", ContactRole.BILLING),
        ("initech", "viewer", "Peter", "Gibbons", ContactRole.VIEWER),
    )
    password_hash = await hash_password(DEMO_PASSWORD)
    for client_key, who, first, last, role in people:
        contact = await create_contact(
            session=demo.session,
            actor=demo.actor,
            client_id=demo.clients[client_key].id,
            data=ContactData(
                email=f"{who}@{client_key}.{DEMO_EMAIL_DOMAIN}",
                first_name=first,
                last_name=last,
                role=role,
            ),
        )
        if client_key == "acme":
            # Set directly: the only action that sets a contact's password is accepting
            # an invite, and invites are mailed (seeding mails nothing).
            contact.password_hash = password_hash
            contact.email_verified_at = demo.days_ago(90)
        demo.contacts[f"{client_key}.{who}"] = contact
    await demo.session.flush()


def _as_contact(demo: _Demo, contact_key: str) -> ContactPrincipal:
    """The principal a contact's portal actions would be recorded under."""
    contact = demo.contacts[contact_key]
    client = next(c for c in demo.clients.values() if c.id == contact.client_id)
    return ContactPrincipal(
        account_id=demo.account.id,
        contact_id=contact.id,
        client_id=client.id,
        role=contact.role,
        modules=contact_modules(demo.account, client),
        session_id=uuid.uuid4(),
    )


# --- projects, tasks, time ------------------------------------------------------------


async def _projects(demo: _Demo) -> None:
    """Projects, tasks, comments and time logs have no actions yet (issue 13): their
    rows are written directly."""
    session = demo.session
    acme, globex = demo.clients["acme"], demo.clients["globex"]
    website = Project(
        account_id=demo.account.id,
        client_id=acme.id,
        name="Website redesign",
        description="New marketing site: discovery, design, build and launch.",
        status=ProjectStatus.ACTIVE,
        budget=Decimal("18000.00"),
        hourly_rate=Decimal("120.00"),
        start_date=demo.day(-40),
        due_date=demo.day(50),
    )
    erp = Project(
        account_id=demo.account.id,
        client_id=globex.id,
        name="ERP integration",
        description="Sync orders and invoices between the web shop and the ERP.",
        status=ProjectStatus.ON_HOLD,
        budget=Decimal("12500.00"),
        hourly_rate=Decimal("140.00"),
        start_date=demo.day(-20),
        due_date=demo.day(70),
    )
    session.add_all([website, erp])
    await session.flush()
    demo.projects = {"website": website, "erp": erp}

    manager, member = demo.staff[StaffRole.MANAGER], demo.staff[StaffRole.MEMBER]

    def new_task(
        project: Project,
        title: str,
        status: TaskStatus,
        *,
        shared: bool,
        due: int | None = None,
        assignee: StaffUser | None = None,
        description: str | None = None,
    ) -> Task:
        return Task(
            account_id=demo.account.id,
            project_id=project.id,
            client_id=project.client_id,
            title=title,
            description=description,
            status=status,
            visibility=TaskVisibility.CLIENT_VISIBLE if shared else TaskVisibility.INTERNAL,
            due_date=demo.day(due) if due is not None else None,
            assignee_id=assignee.id if assignee else None,
        )

    tasks = [
        new_task(website, "Wireframes", TaskStatus.DONE, shared=True, due=-25, assignee=member),
        new_task(
            website,
            "Homepage design",
            TaskStatus.IN_PROGRESS,
            shared=True,
            due=5,
            assignee=member,
            description="Two directions for the hero section; the client picks one.",
        ),
        new_task(
            website,
            "Set up staging server",
            TaskStatus.TODO,
            shared=False,
            due=10,
            assignee=manager,
        ),
        new_task(website, "Content migration", TaskStatus.TODO, shared=True, due=30),
        new_task(
            erp, "Map order fields", TaskStatus.IN_PROGRESS, shared=True, due=12, assignee=manager
        ),
        new_task(erp, "Review internal estimate", TaskStatus.TODO, shared=False, assignee=manager),
    ]
    for position, row in enumerate(tasks):
        row.position = position
    session.add_all(tasks)
    await session.flush()

    homepage = tasks[1]
    session.add_all(
        [
            TaskComment(
                account_id=demo.account.id,
                task_id=homepage.id,
                body="We prefer direction B, but could the headline be larger?",
                author_contact_id=demo.contacts["acme.collab"].id,
                created_at=demo.days_ago(2),
            ),
            TaskComment(
                account_id=demo.account.id,
                task_id=homepage.id,
                body="Sure, updated mock-ups follow tomorrow.",
                author_staff_id=member.id,
                created_at=demo.days_ago(1),
            ),
        ]
    )

    logs = [
        (website, tasks[0], member, "Wireframes: five key pages", 30, 360, True),
        (website, tasks[1], member, "Homepage, direction A and B", 6, 300, True),
        (website, tasks[1], member, "Homepage revisions", 1, 150, True),
        (website, tasks[2], manager, "Staging server and CI", 3, 90, False),
        (erp, tasks[4], manager, "Order field mapping workshop", 8, 240, True),
    ]
    for project, task, user, description, days_ago, minutes, billable in logs:
        session.add(
            TimeLog(
                account_id=demo.account.id,
                project_id=project.id,
                task_id=task.id,
                staff_user_id=user.id,
                description=description,
                started_at=demo.days_ago(days_ago),
                work_date=demo.days_ago(days_ago).date(),
                minutes=minutes,
                billable=billable,
                hourly_rate=project.hourly_rate if billable else None,
                cost_rate=Decimal("55.00"),
            )
        )
    await session.flush()


# --- invoices, payments, credits ------------------------------------------------------


def _line(
    description: str,
    quantity: str,
    unit_price: str,
    *,
    discount: str = "0",
    tax: tuple[str, str] | None = None,
    cost: str | None = None,
) -> LineData:
    """A line from literal amounts; ``tax`` is ``(name, rate in percent)``."""
    return LineData(
        description=description,
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        discount_percent=Decimal(discount),
        tax_name=tax[0] if tax else None,
        tax_rate=Decimal(tax[1]) if tax else Decimal(0),
        unit_cost=Decimal(cost) if cost is not None else None,
    )


async def _invoice(
    demo: _Demo,
    client_key: str,
    lines: list[LineData],
    *,
    issued: int = 0,
    net_days: int = 30,
    sent: bool = True,
    deposit: str | None = None,
    project: str | None = None,
    po_number: str | None = None,
    notes: str | None = None,
) -> Invoice:
    """An invoice issued ``issued`` days ago, due ``net_days`` later, sent on its issue
    date unless ``sent`` is false."""
    issue_date = demo.day(-issued)
    invoice = await create_invoice(
        session=demo.session,
        actor=demo.actor,
        data=InvoiceData(
            client_id=demo.clients[client_key].id,
            issue_date=issue_date,
            due_date=issue_date + timedelta(days=net_days),
            deposit_amount=Decimal(deposit) if deposit is not None else None,
            deposit_due_date=issue_date + timedelta(days=7) if deposit is not None else None,
            project_id=demo.projects[project].id if project else None,
            po_number=po_number,
            public_notes=notes or "Thank you for your business!",
            terms="Payment by bank transfer within the due date.",
            lines=lines,
        ),
    )
    if project:
        # Set directly: create_invoice ignores InvoiceData.project_id, and no action
        # links an invoice to a project yet.
        invoice.project_id = demo.projects[project].id
    if sent:
        await mark_invoice_sent(demo.work, actor=demo.actor, invoice_id=invoice.id)
        invoice.sent_at = demo.days_ago(issued)
    return invoice


async def _pay(
    demo: _Demo,
    client_key: str,
    amount: Decimal,
    allocations: list[tuple[Invoice, Decimal]],
    *,
    days_ago: int,
    method: PaymentMethodKind,
    reference: str,
) -> None:
    await record_payment(
        session=demo.session,
        actor=demo.actor,
        data=PaymentData(
            client_id=demo.clients[client_key].id,
            amount=amount,
            method=method,
            received_on=demo.day(-days_ago),
            reference=reference,
            allocations=[AllocationData(invoice.id, share) for invoice, share in allocations],
        ),
    )
    for invoice, _share in allocations:
        if invoice.status is InvoiceStatus.PAID:
            invoice.paid_at = demo.days_ago(days_ago)


async def _invoices_and_payments(demo: _Demo) -> None:
    """Invoices are sent oldest first, so their numbers follow their issue dates."""
    acme_tax = (TAX_NY, "8.875")
    de_tax = (TAX_DE, "19")

    workshop = await _invoice(
        demo, "acme", [_line("Brand workshop (full day)", "1", "1500.00")], issued=75
    )
    hosting = await _invoice(
        demo,
        "acme",
        [_line("Managed hosting, per month", "3", "149.00", tax=acme_tax, cost="40.00")],
        issued=60,
        po_number="PO-4471",
    )
    # SENT and overdue: due two weeks ago, nothing paid.
    await _invoice(
        demo,
        "acme",
        [
            _line("Landing page build", "1", "2400.00"),
            _line("Stock photography licences", "6", "45.00", tax=acme_tax),
        ],
        issued=44,
        project="website",
        notes="Friendly reminder: this invoice is past due.",
    )
    migration = await _invoice(
        demo,
        "globex",
        [_line("Data migration workshop (days)", "2", "850.00", tax=de_tax)],
        issued=30,
        net_days=14,
    )
    printer = await _invoice(
        demo, "initech", [_line("Printer maintenance contract", "1", "640.00")], issued=25
    )
    build = await _invoice(
        demo,
        "acme",
        [
            _line("Website redesign: design and build", "1", "9600.00"),
            _line("CMS licence (annual)", "1", "480.00", tax=acme_tax),
        ],
        issued=20,
        net_days=60,
        deposit="3000.00",
        project="website",
    )
    reports = await _invoice(
        demo,
        "initech",
        [_line("TPS report automation, hours", "12", "110.00", discount="5")],
        issued=10,
    )
    audit = await _invoice(
        demo,
        "acme",
        [
            _line("UX audit", "1", "1800.00"),
            _line("Usability testing session", "4", "250.00", discount="5"),
        ],
        issued=5,
    )
    # SENT (Globex, EUR, with German VAT), due in eleven days.
    await _invoice(
        demo,
        "globex",
        [_line("ERP integration: discovery, hours", "16", "140.00", tax=de_tax)],
        issued=3,
        net_days=14,
        project="erp",
    )
    # DRAFT: still being prepared, so not numbered yet.
    await _invoice(
        demo,
        "acme",
        [
            _line("Design sprint (5 days)", "5", "1200.00"),
            _line("Content migration, per page", "24", "95.00", discount="10"),
        ],
        sent=False,
        project="website",
    )

    # PAID: two invoices settled by one bank transfer.
    await _pay(
        demo,
        "acme",
        workshop.total + hosting.total,
        [(workshop, workshop.total), (hosting, hosting.total)],
        days_ago=40,
        method=PaymentMethodKind.BANK_TRANSFER,
        reference="ACH 20931",
    )
    # PAID with an overpayment: the remainder stays unapplied on the payment.
    await _pay(
        demo,
        "globex",
        Decimal("2100.00"),
        [(migration, migration.total)],
        days_ago=8,
        method=PaymentMethodKind.BANK_TRANSFER,
        reference="SEPA 7781-22",
    )
    # PARTIAL: the deposit is paid, the rest is due later.
    await _pay(
        demo,
        "acme",
        Decimal("3000.00"),
        [(build, Decimal("3000.00"))],
        days_ago=12,
        method=PaymentMethodKind.CHECK,
        reference="Check #1043",
    )

    # VIEWED: the billing contact opened it in the portal.
    await mark_invoice_viewed(
        session=demo.session, actor=_as_contact(demo, "acme.billing"), invoice_id=audit.id
    )
    audit.viewed_at = demo.days_ago(3)

    # VOID: sent by mistake, voided the next day.
    await void_invoice(session=demo.session, actor=demo.actor, invoice_id=printer.id)
    printer.voided_at = demo.days_ago(24)

    # PARTIAL through a credit, plus an unused credit for Acme.
    await _credit(
        demo, "acme", Decimal("150.00"), "Goodwill credit for the delayed staging launch."
    )
    refund = await _credit(
        demo, "initech", Decimal("400.00"), "Unused support hours from last year's retainer."
    )
    await _apply_credit(demo, refund, reports, Decimal("250.00"))
    await demo.session.flush()


async def _credit(demo: _Demo, client_key: str, amount: Decimal, reason: str) -> Credit:
    return await create_credit(
        session=demo.session,
        actor=demo.actor,
        data=CreditData(client_id=demo.clients[client_key].id, amount=amount, reason=reason),
    )


async def _apply_credit(demo: _Demo, credit: Credit, invoice: Invoice, amount: Decimal) -> None:
    await apply_credit(
        session=demo.session,
        actor=demo.actor,
        credit_id=credit.id,
        invoice_id=invoice.id,
        amount=amount,
    )


# --- quotes ---------------------------------------------------------------------------


async def _quote(
    demo: _Demo,
    client_key: str,
    kind: QuoteKind,
    title: str,
    lines: list[LineData],
    *,
    issued: int = 0,
    valid_for: int = 30,
    sent: bool = True,
) -> Quote:
    quote = await create_quote(
        session=demo.session,
        actor=demo.actor,
        data=QuoteData(
            client_id=demo.clients[client_key].id,
            kind=kind,
            title=title,
            issue_date=demo.day(-issued),
            valid_until=demo.day(-issued + valid_for),
            public_notes="Questions? Reply in the portal and we will get back to you.",
            terms=demo.account.quote_terms,
            lines=lines,
        ),
    )
    if sent:
        await send_quote(demo.work, actor=demo.actor, quote_id=quote.id, notify=False)
        quote.sent_at = demo.days_ago(issued)
    return quote


async def _quotes(demo: _Demo) -> None:
    """Quotes are sent oldest first, so their numbers follow their issue dates."""
    # APPROVED: the proposal behind the website build invoice.
    approved = await _quote(
        demo,
        "acme",
        QuoteKind.PROPOSAL,
        "Website redesign",
        [
            _line("Design and build", "1", "9600.00"),
            _line("CMS licence (annual)", "1", "480.00", tax=(TAX_NY, "8.875")),
        ],
        issued=26,
        valid_for=40,
    )
    acme_billing = _as_contact(demo, "acme.billing")
    await mark_quote_viewed(session=demo.session, actor=acme_billing, quote_id=approved.id)
    await approve_quote(
        demo.work,
        actor=acme_billing,
        quote_id=approved.id,
        data=ApprovalData(accept_terms=True),
        client_address=CLIENT_ADDRESS,
    )
    approved.viewed_at = demo.days_ago(25)
    approved.approved_at = demo.days_ago(22)
    approved.terms_accepted_at = approved.approved_at
    # From now on an approved quote becomes a sent invoice (the account's default).
    await update_account_settings(
        session=demo.session,
        actor=demo.owner,
        data=AccountSettingsData(convert_quote_on_approval=True),
    )

    # DECLINED, with the client's reason.
    declined = await _quote(
        demo,
        "initech",
        QuoteKind.ESTIMATE,
        "Office network upgrade",
        [
            _line("Switches and access points", "6", "420.00"),
            _line("Installation, hours", "16", "95.00"),
        ],
        issued=14,
    )
    initech_billing = _as_contact(demo, "initech.billing")
    await mark_quote_viewed(session=demo.session, actor=initech_billing, quote_id=declined.id)
    await decline_quote(
        session=demo.session,
        actor=initech_billing,
        quote_id=declined.id,
        reason="Budget moved to next fiscal year.",
    )
    declined.viewed_at = demo.days_ago(12)
    declined.declined_at = demo.days_ago(6)

    # SENT: a proposal and an estimate awaiting an answer.
    await _quote(
        demo,
        "acme",
        QuoteKind.PROPOSAL,
        "Annual SEO and content programme",
        [
            _line("SEO audit and roadmap", "1", "2200.00"),
            _line("Articles, per month", "12", "650.00", discount="8"),
        ],
        issued=4,
        valid_for=21,
    )
    await _quote(
        demo,
        "globex",
        QuoteKind.ESTIMATE,
        "ERP integration: phase 2",
        [_line("Invoice sync, hours", "40", "140.00", tax=(TAX_DE, "19"))],
        issued=2,
    )

    # DRAFT: not sent, so not numbered and hidden from the portal.
    await _quote(
        demo,
        "acme",
        QuoteKind.ESTIMATE,
        "Mobile app: discovery phase",
        [
            _line("Discovery workshops", "3", "1100.00"),
            _line("Clickable prototype", "1", "2800.00"),
        ],
        sent=False,
    )
    await demo.session.flush()


# --- recurring billing and subscriptions ----------------------------------------------


async def _recurring_and_subscriptions(demo: _Demo) -> None:
    """A monthly retainer that starts in nine days, auto-billed to Acme's saved card,
    and a subscription to a care plan on the same card.

    The schedule is created and started through its actions; it starts in the future
    because only the scheduler issues a schedule's invoices, and it mails them (an
    earlier start would have the scheduler mail an invoice as soon as the server runs).
    Saved payment methods, plans and subscriptions have no actions yet (issue 12):
    their rows, and the card's link to the schedule, are written directly."""
    session = demo.session
    acme = demo.clients["acme"]
    card = SavedPaymentMethod(
        account_id=demo.account.id,
        client_id=acme.id,
        kind="card",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=demo.today.year + 2,
        is_default=True,
        created_by_contact_id=demo.contacts["acme.billing"].id,
    )
    session.add(card)
    await session.flush()

    recurring = await create_recurring_invoice(
        session=session,
        actor=demo.actor,
        data=RecurringData(
            client_id=acme.id,
            frequency=Frequency.MONTHLY,
            start_date=demo.day(9),
            remaining_cycles=6,
            remaining_cycles_given=True,
            auto_bill=AutoBill.OPT_IN,
            due_days=15,
            public_notes="Monthly retainer: maintenance and small changes.",
            lines=[
                _line("Website maintenance retainer", "1", "800.00"),
                _line("Managed hosting", "1", "149.00", tax=(TAX_NY, "8.875"), cost="40.00"),
            ],
        ),
    )
    recurring.payment_method_id = card.id
    await start_recurring_invoice(
        session=session, actor=demo.actor, recurring_invoice_id=recurring.id
    )
    # OPT_IN: the client's billing contact chose to be charged automatically.
    await set_auto_bill(
        session=session,
        actor=_as_contact(demo, "acme.billing"),
        recurring_invoice_id=recurring.id,
        enabled=True,
    )

    plan = SubscriptionPlan(
        account_id=demo.account.id,
        name="Care Plan",
        description="Security updates, backups and uptime monitoring.",
        amount=Decimal("199.00"),
        currency="USD",
        interval=PlanInterval.MONTH,
        trial_days=14,
    )
    session.add(plan)
    await session.flush()
    session.add(
        Subscription(
            account_id=demo.account.id,
            client_id=acme.id,
            plan_id=plan.id,
            status=SubscriptionStatus.ACTIVE,
            started_at=demo.days_ago(100),
            current_period_start=demo.days_ago(10),
            current_period_end=demo.days_ago(10) + timedelta(days=30),
            payment_method_id=card.id,
        )
    )
    await session.flush()


# --- documents ------------------------------------------------------------------------


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content


async def _documents(demo: _Demo) -> None:
    """The demo's files are placeholders (text, whatever the name says), so they skip the
    upload checks (services.document_uploads): each is written to storage with its row."""
    acme, globex = demo.clients["acme"], demo.clients["globex"]
    website, erp = demo.projects["website"], demo.projects["erp"]
    files = [
        (acme, None, "brand-guidelines.pdf", "application/pdf", True),
        (acme, website, "wireframes-v2.pdf", "application/pdf", True),
        (acme, website, "homepage-direction-b.png", "image/png", True),
        (acme, website, "internal-cost-breakdown.xlsx", XLSX, False),
        (globex, None, "signed-nda.pdf", "application/pdf", True),
        (globex, erp, "erp-field-mapping-notes.txt", "text/plain", False),
    ]
    uploader = demo.staff[StaffRole.MANAGER]
    for client, project, filename, content_type, visible in files:
        content = f"Portico demo file: {filename} for {client.name}\n".encode() * 64
        key = f"documents/{demo.account.id.hex}/{uuid.uuid4().hex}"
        await demo.work.runtime.storage.save(key, _once(content))
        demo.session.add(
            Document(
                account_id=demo.account.id,
                client_id=client.id,
                project_id=project.id if project else None,
                filename=filename,
                content_type=content_type,
                size_bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                storage_key=key,
                visible_in_portal=visible,
                uploaded_by_staff_id=uploader.id,
            )
        )
    await demo.session.flush()
