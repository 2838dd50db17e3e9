"""Row scoping: every list and every read by id shows a caller exactly its own rows.

The world: two accounts (A, B), two clients in each (A1, A2, B1, B2), and in every client
rows of each entity, including the variants contacts must never see (draft and void
invoices, draft quotes, void credits, draft recurring invoices, unshared tasks, private
documents). Each row is tagged with who may see it; the tests compare what the services
answer with what the tags say, for staff, contacts, partners and anonymous callers, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.policy import PARTNER_SCOPES
from auth.principals import (
    Anonymous,
    ContactPrincipal,
    PartnerPrincipal,
    Principal,
    StaffPrincipal,
)
from models.accounts import Account, StaffUser
from models.activity import Activity
from models.auth import ApiToken
from models.clients import Client, Contact
from models.credits import Credit, CreditApplication
from models.documents import Document
from models.enums import (
    AutoBill,
    ContactRole,
    CreditStatus,
    InvoiceStatus,
    Module,
    PaymentStatus,
    QuoteStatus,
    RecurringStatus,
    StaffRole,
    SubscriptionStatus,
    TaskVisibility,
)
from models.invoices import Invoice, InvoiceLine
from models.payment_methods import SavedPaymentMethod
from models.payments import Payment, PaymentAllocation
from models.projects import Project, Task, TaskComment
from models.quotes import Quote, QuoteLine
from models.recurring import RecurringInvoice, RecurringInvoiceLine
from models.subscriptions import Subscription, SubscriptionPlan
from models.time_logs import TimeLog
from resolvers.loaders import Loaders
from services import access
from services.clients import ClientFilter, list_clients
from services.credits import CreditFilter, list_credits
from services.documents import DocumentFilter, list_documents
from services.errors import Conflict, NotFound
from services.invoices import InvoiceFilter, list_invoices
from services.pagination import MAX_PAGE_SIZE, Page
from services.payments import PaymentFilter, list_payments
from services.payments.methods import PaymentMethodFilter, list_payment_methods
from services.projects import ProjectFilter, TaskFilter, list_projects, list_tasks
from services.quotes import QuoteFilter, list_quotes
from services.recurring import RecurringInvoiceFilter, list_recurring_invoices, set_auto_bill
from services.recurring.subscriptions import SubscriptionFilter, list_subscriptions
from services.time_logs import TimeLogFilter, list_time_logs

NOW = datetime.now(UTC)
TODAY = NOW.date()
ACCOUNTS = ("A", "B")
CLIENTS = ("A1", "A2", "B1", "B2")


# --- the world ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row and who may see it: staff of its account always; a contact of its client
    when ``contact_visible``; a partner of its account when ``partner_visible`` (by
    default: what a contact of the row's client sees)."""

    entity: str
    id: uuid.UUID
    client: str
    variant: str = ""
    contact_visible: bool = True
    partner_visible: bool | None = None

    @property
    def partner_sees(self) -> bool:
        return self.contact_visible if self.partner_visible is None else self.partner_visible

    @property
    def account(self) -> str:
        return self.client[0]


@dataclass
class World:
    staff: dict[str, StaffPrincipal]
    account_ids: dict[str, uuid.UUID]
    clients: dict[str, Client] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def add(
        self, entity: str, row: Any, client: str, variant: str = "", **visibility: bool
    ) -> None:
        self.rows.append(Row(entity, row.id, client, variant, **visibility))

    def of(self, entity: str) -> list[Row]:
        return [row for row in self.rows if row.entity == entity]

    def row(self, entity: str, client: str, variant: str) -> Row:
        (found,) = [r for r in self.of(entity) if r.client == client and r.variant == variant]
        return found

    def contact(self, client: str) -> ContactPrincipal:
        contact = self.contacts[client]
        return ContactPrincipal(
            account_id=contact.account_id,
            contact_id=contact.id,
            client_id=contact.client_id,
            role=ContactRole.BILLING,
            modules=frozenset(Module),
            session_id=uuid.uuid4(),
        )

    def partner(self, account: str) -> PartnerPrincipal:
        return PartnerPrincipal(
            account_id=self.account_ids[account],
            token_id=uuid.uuid4(),
            scopes=PARTNER_SCOPES,
            modules=frozenset(Module),
        )

    def viewers(self) -> dict[str, Principal]:
        """Every caller the tests ask as, by a readable name."""
        viewers: dict[str, Principal] = {"anonymous": Anonymous()}
        for account in ACCOUNTS:
            viewers[f"staff {account}"] = self.staff[account]
            viewers[f"partner {account}"] = self.partner(account)
        for client in CLIENTS:
            viewers[f"contact {client}"] = self.contact(client)
        return viewers

    def expected(self, entity: str, viewer: str) -> set[uuid.UUID]:
        """What the tags say ``viewer`` may see of ``entity``."""
        kind, _, where = viewer.partition(" ")
        rows = self.of(entity)
        if kind == "staff":
            return {r.id for r in rows if r.account == where}
        if kind == "partner":
            return {r.id for r in rows if r.account == where and r.partner_sees}
        if kind == "contact":
            return {r.id for r in rows if r.client == where and r.contact_visible}
        return set()


async def build_world(session: AsyncSession, tenants: dict[str, Any]) -> World:
    world = World(
        staff={key: tenant.principals[StaffRole.ADMIN] for key, tenant in tenants.items()},
        account_ids={key: tenant.account_id for key, tenant in tenants.items()},
    )
    plans: dict[str, SubscriptionPlan] = {}
    for account in ACCOUNTS:
        plan = SubscriptionPlan(
            account_id=world.account_ids[account],
            name="Care",
            amount=Decimal("99"),
            currency="USD",
        )
        plans[account] = plan
        session.add(plan)
    for code in CLIENTS:
        account_id = world.account_ids[code[0]]
        client = Client(account_id=account_id, name=f"Client {code}")
        session.add(client)
        await session.flush()
        contact = Contact(
            account_id=account_id,
            client_id=client.id,
            email=f"billing@{code.lower()}.test",
            role=ContactRole.BILLING,
        )
        project = Project(account_id=account_id, client_id=client.id, name=f"Site {code}")
        session.add_all([contact, project])
        await session.flush()
        world.clients[code] = client
        world.contacts[code] = contact
        world.projects[code] = project
        world.add("clients", client, code)
        world.add("contacts", contact, code)
        world.add("projects", project, code)
        _add_rows(session, world, code, client, contact, project, plans[code[0]])
    await session.commit()
    return world


def _add_rows(
    session: AsyncSession,
    world: World,
    code: str,
    client: Client,
    contact: Contact,
    project: Project,
    plan: SubscriptionPlan,
) -> None:
    def add(entity: str, row: Any, variant: str = "", **visibility: bool) -> None:
        session.add(row)
        world.add(entity, row, code, variant, **visibility)

    owned: dict[str, Any] = {"account_id": client.account_id, "client_id": client.id}
    for invoice_status in (
        InvoiceStatus.SENT,
        InvoiceStatus.PAID,
        InvoiceStatus.DRAFT,
        InvoiceStatus.VOID,
    ):
        shown = invoice_status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID)
        invoice = Invoice(**owned, status=invoice_status, currency="USD", total=Decimal(100))
        add("invoices", invoice, invoice_status, contact_visible=shown, partner_visible=shown)
    for quote_status in (QuoteStatus.SENT, QuoteStatus.APPROVED, QuoteStatus.DRAFT):
        shown = quote_status is not QuoteStatus.DRAFT
        quote = Quote(**owned, status=quote_status, currency="USD")
        add("quotes", quote, quote_status, contact_visible=shown, partner_visible=shown)
    add("payments", Payment(**owned, amount=Decimal(10), currency="USD", received_on=TODAY))
    for credit_status in (CreditStatus.OPEN, CreditStatus.APPLIED, CreditStatus.VOID):
        shown = credit_status is not CreditStatus.VOID
        credit = Credit(**owned, currency="USD", amount=Decimal(5), status=credit_status)
        add("credits", credit, credit_status, contact_visible=shown, partner_visible=shown)
    for recurring_status in (RecurringStatus.ACTIVE, RecurringStatus.PAUSED, RecurringStatus.DRAFT):
        shown = recurring_status is not RecurringStatus.DRAFT
        recurring = RecurringInvoice(
            **owned,
            status=recurring_status,
            currency="USD",
            start_date=TODAY,
            auto_bill=AutoBill.OPT_IN,
        )
        add(
            "recurring invoices",
            recurring,
            recurring_status,
            contact_visible=shown,
            partner_visible=shown,
        )
    for subscription_status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELED):
        subscription = Subscription(**owned, plan_id=plan.id, status=subscription_status)
        add("subscriptions", subscription, subscription_status)
    add("payment methods", SavedPaymentMethod(**owned, brand="visa", last4="4242"))
    for shared in (True, False):
        task = Task(
            **owned,
            project_id=project.id,
            title="Design",
            visibility=TaskVisibility.CLIENT_VISIBLE if shared else TaskVisibility.INTERNAL,
        )
        add("tasks", task, "shared" if shared else "unshared", contact_visible=shared)
    documents: dict[str, dict[str, Any]] = {
        "shared": {"visible_in_portal": True},
        "private": {"visible_in_portal": False},
        "uploaded by client": {
            "visible_in_portal": False,
            "uploaded_by_contact_id": contact.id,
            "uploaded_by_client": True,
        },
        # a file of the account, shared in the portal but of no client: no contact sees it
        "account-wide": {"visible_in_portal": True, "client_id": None, "project_id": None},
    }
    for variant, attributes in documents.items():
        attributes = {"project_id": project.id, **owned, **attributes}
        document = Document(
            filename=f"{variant}.pdf",
            content_type="application/pdf",
            size_bytes=1,
            sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),  # one file per owner
            storage_key=f"test/{uuid.uuid4()}",
            **attributes,
        )
        add("documents", document, variant, contact_visible=variant in VISIBLE_DOCUMENTS)
    time_log = TimeLog(
        account_id=client.account_id, project_id=project.id, started_at=NOW, minutes=30
    )
    add("time logs", time_log)


@pytest.fixture
async def world(session, make_tenant) -> World:
    tenants = {"A": await make_tenant("acme"), "B": await make_tenant("globex")}
    return await build_world(session, tenants)


# --- the entities, as the services list and read them ----------------------------------

Lister = Callable[[AsyncSession, Principal], Awaitable[list[Any]]]
Reader = Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[Any]]


def page_of(list_function: Any, filters: Any) -> Lister:
    async def list_rows(session: AsyncSession, principal: Principal) -> list[Any]:
        page: Page[Any] = await list_function(
            session=session, principal=principal, filters=filters, first=MAX_PAGE_SIZE, after=None
        )
        assert page.total_count == len(page.nodes)
        return page.nodes

    return list_rows


async def list_contacts(session: AsyncSession, principal: Principal) -> list[Any]:
    """Contacts have no list of their own (they are read through their client)."""
    return list((await session.exec(select(Contact).where(*access.contact_scope(principal)))).all())


@dataclass(frozen=True)
class Entity:
    name: str
    list_rows: Lister
    read: Reader | None
    """The ``access_*`` helper; ``None`` where rows are only listed."""
    label: str = ""

    def __str__(self) -> str:
        return self.name


ENTITIES = [
    Entity("clients", page_of(list_clients, ClientFilter()), access.access_client),
    Entity("contacts", list_contacts, access.access_contact),
    Entity("invoices", page_of(list_invoices, InvoiceFilter()), access.access_invoice),
    Entity("quotes", page_of(list_quotes, QuoteFilter()), access.access_quote),
    Entity("payments", page_of(list_payments, PaymentFilter()), access.access_payment),
    Entity("credits", page_of(list_credits, CreditFilter()), access.access_credit),
    Entity(
        "recurring invoices",
        page_of(list_recurring_invoices, RecurringInvoiceFilter()),
        access.access_recurring_invoice,
    ),
    Entity(
        "subscriptions",
        page_of(list_subscriptions, SubscriptionFilter()),
        access.access_subscription,
    ),
    Entity(
        "payment methods",
        page_of(list_payment_methods, PaymentMethodFilter()),
        access.access_payment_method,
    ),
    Entity("projects", page_of(list_projects, ProjectFilter()), access.access_project),
    Entity("tasks", page_of(list_tasks, TaskFilter()), access.access_task),
    Entity("documents", page_of(list_documents, DocumentFilter()), access.access_document),
    Entity("time logs", page_of(list_time_logs, TimeLogFilter()), None),
]
READABLE = [entity for entity in ENTITIES if entity.read is not None]
BY_NAME = {entity.name: entity for entity in ENTITIES}


async def not_found_message(read: Awaitable[Any]) -> tuple[str, dict[str, object]]:
    with pytest.raises(NotFound) as caught:
        await read
    return caught.value.message, caught.value.extensions


# --- lists ---------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES, ids=str)
async def test_list_shows_each_caller_exactly_the_rows_in_its_scope(session, world, entity):
    # given two accounts with two clients each, and rows of every visibility
    assert len(world.of(entity.name)) >= len(CLIENTS)
    for viewer, principal in world.viewers().items():
        # when the caller lists the entity
        rows = await entity.list_rows(session, principal)
        # then it sees exactly what its scope allows: staff their account, partners their
        # account's shown rows, contacts their client's shown rows, anonymous nothing
        assert {row.id for row in rows} == world.expected(entity.name, viewer), viewer


@pytest.mark.parametrize("entity", ENTITIES, ids=str)
async def test_staff_never_see_another_accounts_rows(session, world, entity):
    # given rows in accounts A and B
    b_rows = {row.id for row in world.of(entity.name) if row.account == "B"}
    assert b_rows
    # when every staff role of account A lists the entity
    for role in StaffRole:
        principal = StaffPrincipal(
            account_id=world.account_ids["A"],
            user_id=world.staff["A"].user_id,
            role=role,
            session_id=uuid.uuid4(),
        )
        rows = await entity.list_rows(session, principal)
        # then none of B's rows is among them
        assert not b_rows & {row.id for row in rows}, role


VISIBLE_DOCUMENTS = ("shared", "uploaded by client")

HIDDEN_FROM_CONTACTS = [
    ("invoices", InvoiceStatus.DRAFT),
    ("invoices", InvoiceStatus.VOID),
    ("quotes", QuoteStatus.DRAFT),
    ("credits", CreditStatus.VOID),
    ("recurring invoices", RecurringStatus.DRAFT),
    ("tasks", "unshared"),
    ("documents", "private"),
    ("documents", "account-wide"),
]


@pytest.mark.parametrize(("entity_name", "variant"), HIDDEN_FROM_CONTACTS)
async def test_contacts_never_see_hidden_rows_of_their_own_client(
    session, world, entity_name, variant
):
    # given a row of client A1 that its contacts must not see
    entity = BY_NAME[entity_name]
    hidden = world.row(entity_name, "A1", variant)
    contact = world.contact("A1")
    # when A1's contact lists the entity and reads the row by id
    listed = {row.id for row in await entity.list_rows(session, contact)}
    assert entity.read is not None
    message = await not_found_message(entity.read(session, contact, hidden.id))
    # then the row is neither listed nor readable, exactly like an unknown id
    assert hidden.id not in listed
    assert message == await not_found_message(entity.read(session, contact, uuid.uuid4()))


HIDDEN_FROM_PARTNERS = [
    ("tasks", "unshared"),
    ("documents", "private"),
    ("documents", "account-wide"),
]


@pytest.mark.parametrize(("entity_name", "variant"), HIDDEN_FROM_PARTNERS)
async def test_partners_never_see_the_accounts_internal_work_rows(
    session, world, entity_name, variant
):
    # given an unshared task, a private document or a file of no client in account A
    entity = BY_NAME[entity_name]
    hidden = world.row(entity_name, "A1", variant)
    partner = world.partner("A")
    # when a partner of account A, holding every scope, lists the entity and reads the row
    listed = {row.id for row in await entity.list_rows(session, partner)}
    assert entity.read is not None
    message = await not_found_message(entity.read(session, partner, hidden.id))
    # then it is neither listed nor readable, like an unknown id: partners see what the
    # contacts of the account's clients see
    assert hidden.id not in listed
    assert message == await not_found_message(entity.read(session, partner, uuid.uuid4()))


async def test_partners_see_documents_a_client_uploaded(session, world):
    # given documents of A1 and A2 that are not shared but were uploaded by their contacts
    uploaded = [world.row("documents", code, "uploaded by client").id for code in ("A1", "A2")]
    # when a partner of account A reads them
    rows = [await access.access_document(session, world.partner("A"), row) for row in uploaded]
    # then it sees both, as their clients' contacts do; a partner of B sees neither
    assert [row.id for row in rows] == uploaded
    for row_id in uploaded:
        with pytest.raises(NotFound):
            await access.access_document(session, world.partner("B"), row_id)


async def test_contacts_see_documents_their_client_uploaded(session, world):
    # given a document of A1 that is not shared in the portal but was uploaded by A1's contact
    uploaded = world.row("documents", "A1", "uploaded by client")
    # when A1's and A2's contacts read it
    row = await access.access_document(session, world.contact("A1"), uploaded.id)
    # then A1's contact sees it, and A2's contact does not
    assert row.id == uploaded.id
    with pytest.raises(NotFound):
        await access.access_document(session, world.contact("A2"), uploaded.id)


# --- reads by id ---------------------------------------------------------------------


@pytest.mark.parametrize("entity", READABLE, ids=str)
async def test_access_by_id_answers_out_of_scope_rows_like_unknown_ids(session, world, entity):
    # given every row of the entity, in and out of each caller's scope
    all_ids = {row.id for row in world.of(entity.name)}
    for viewer, principal in world.viewers().items():
        visible = world.expected(entity.name, viewer)
        unknown = await not_found_message(entity.read(session, principal, uuid.uuid4()))
        for row_id in sorted(all_ids):
            if row_id in visible:
                # when the caller reads a row in its scope, then it gets that row
                assert (await entity.read(session, principal, row_id)).id == row_id
            else:
                # when it reads one out of its scope, then the answer is the unknown id's
                message = await not_found_message(entity.read(session, principal, row_id))
                assert message == unknown, (viewer, row_id)


# --- nested reads through loaders ----------------------------------------------------


async def test_project_tasks_loader_gives_contacts_only_their_shared_tasks(session, world):
    # given projects of A1, A2 and B1, each with a shared and an unshared task
    projects = {code: world.projects[code].id for code in ("A1", "A2", "B1")}
    contact_loaders = Loaders(session, world.contact("A1"))
    staff_loaders = Loaders(session, world.staff["A"])
    # when A1's contact and A's staff load each project's tasks
    as_contact = {
        code: await contact_loaders.tasks_by_project_id.load(p) for code, p in projects.items()
    }
    as_staff = {
        code: await staff_loaders.tasks_by_project_id.load(p) for code, p in projects.items()
    }
    # then the contact gets only A1's shared task; staff get both tasks of their account only
    assert [t.id for t in as_contact["A1"]] == [world.row("tasks", "A1", "shared").id]
    assert as_contact["A2"] == []
    assert as_contact["B1"] == []
    assert {t.id for t in as_staff["A1"]} == {r.id for r in world.of("tasks") if r.client == "A1"}
    assert len(as_staff["A2"]) == 2
    assert as_staff["B1"] == []


async def test_project_documents_loader_gives_contacts_only_shared_or_own_uploads(session, world):
    # given projects of A1, A2 and B1, each with a shared, a private and a client-uploaded file
    projects = {code: world.projects[code].id for code in ("A1", "A2", "B1")}
    contact_loaders = Loaders(session, world.contact("A1"))
    staff_loaders = Loaders(session, world.staff["A"])
    # when A1's contact and A's staff load each project's documents
    as_contact = {
        code: await contact_loaders.documents_by_project_id.load(p) for code, p in projects.items()
    }
    as_staff = {
        code: await staff_loaders.documents_by_project_id.load(p) for code, p in projects.items()
    }
    # then the contact gets A1's shared and client-uploaded files only
    assert {d.id for d in as_contact["A1"]} == {
        world.row("documents", "A1", "shared").id,
        world.row("documents", "A1", "uploaded by client").id,
    }
    assert as_contact["A2"] == []
    assert as_contact["B1"] == []
    # and staff get all three of their account's project, none of the other account's
    assert len(as_staff["A1"]) == 3
    assert as_staff["B1"] == []


async def test_project_loaders_give_partners_only_what_contacts_see(session, world):
    # given projects of A1, A2 and B1, each with shared and internal tasks and documents
    projects = {code: world.projects[code].id for code in ("A1", "A2", "B1")}
    loaders = Loaders(session, world.partner("A"))
    # when a partner of account A loads each project's tasks, documents and time logs
    tasks = {code: await loaders.tasks_by_project_id.load(p) for code, p in projects.items()}
    documents = {
        code: await loaders.documents_by_project_id.load(p) for code, p in projects.items()
    }
    time_logs = {
        code: await loaders.time_logs_by_project_id.load(p) for code, p in projects.items()
    }
    # then it gets the shared tasks and the shared or client-uploaded documents of its
    # account's projects, and their time logs; nothing of account B
    for code in ("A1", "A2"):
        assert [t.id for t in tasks[code]] == [world.row("tasks", code, "shared").id]
        assert {d.id for d in documents[code]} == {
            world.row("documents", code, variant).id for variant in VISIBLE_DOCUMENTS
        }
        assert [t.id for t in time_logs[code]] == [world.row("time logs", code, "").id]
    assert (tasks["B1"], documents["B1"], time_logs["B1"]) == ([], [], [])


async def test_task_loader_gives_partners_no_unshared_task(session, world):
    # given a partner of account A and its loaders
    loaders = Loaders(session, world.partner("A"))
    # when it loads A1's tasks by id (a time log's task)
    unshared = await loaders.task_by_id.load(world.row("tasks", "A1", "unshared").id)
    shared = await loaders.task_by_id.load(world.row("tasks", "A1", "shared").id)
    # then the unshared one answers None
    assert unshared is None
    assert shared is not None


async def test_by_id_loaders_answer_none_out_of_scope(session, world):
    # given A1's contact's loaders
    loaders = Loaders(session, world.contact("A1"))
    # when it loads projects and tasks of its own client, another client and another account
    own_project = await loaders.project_by_id.load(world.projects["A1"].id)
    other_project = await loaders.project_by_id.load(world.projects["A2"].id)
    foreign_project = await loaders.project_by_id.load(world.projects["B1"].id)
    unshared_task = await loaders.task_by_id.load(world.row("tasks", "A1", "unshared").id)
    time_logs = await loaders.time_logs_by_project_id.load(world.projects["A2"].id)
    # then only its own client's rows come back
    assert own_project is not None
    assert other_project is None
    assert foreign_project is None
    assert unshared_task is None
    assert time_logs == []


# --- the scopes loaders use for rows read below their parent, and for names ----------


async def ids_in_scope(session: AsyncSession, model: Any, scope: access.Conditions) -> set[Any]:
    return set((await session.exec(select(model.id).where(*scope))).all())


def account_viewers(world: World, account: str) -> list[str]:
    """The viewers of ``account``: its staff, its partner and its clients' contacts."""
    return [name for name in world.viewers() if name.partition(" ")[2].startswith(account)]


ChildFactory = Callable[[World, str], Any]

CHILD_SCOPES: list[tuple[Callable[[Principal], access.Conditions], ChildFactory]] = [
    (
        access.invoice_line_scope,
        lambda w, code: InvoiceLine(
            account_id=w.clients[code].account_id,
            invoice_id=w.row("invoices", code, InvoiceStatus.SENT).id,
            description="Design",
        ),
    ),
    (
        access.quote_line_scope,
        lambda w, code: QuoteLine(
            account_id=w.clients[code].account_id,
            quote_id=w.row("quotes", code, QuoteStatus.SENT).id,
            description="Design",
        ),
    ),
    (
        access.payment_allocation_scope,
        lambda w, code: PaymentAllocation(
            account_id=w.clients[code].account_id,
            payment_id=w.row("payments", code, "").id,
            invoice_id=w.row("invoices", code, InvoiceStatus.SENT).id,
            amount=Decimal(10),
        ),
    ),
    (
        access.settled_allocation_scope,
        lambda w, code: PaymentAllocation(
            account_id=w.clients[code].account_id,
            payment_id=w.row("payments", code, "").id,
            invoice_id=w.row("invoices", code, InvoiceStatus.SENT).id,
            amount=Decimal(10),
        ),
    ),
    (
        access.credit_application_scope,
        lambda w, code: CreditApplication(
            account_id=w.clients[code].account_id,
            credit_id=w.row("credits", code, CreditStatus.APPLIED).id,
            invoice_id=w.row("invoices", code, InvoiceStatus.SENT).id,
            amount=Decimal(5),
        ),
    ),
    (
        access.recurring_invoice_line_scope,
        lambda w, code: RecurringInvoiceLine(
            account_id=w.clients[code].account_id,
            recurring_invoice_id=w.row("recurring invoices", code, RecurringStatus.ACTIVE).id,
            description="Hosting",
        ),
    ),
    (
        access.task_comment_scope,
        lambda w, code: TaskComment(
            account_id=w.clients[code].account_id,
            task_id=w.row("tasks", code, "shared").id,
            body="Looks good",
            author_contact_id=w.contacts[code].id,
        ),
    ),
]


@pytest.mark.parametrize(
    ("scope", "make_row"),
    [pytest.param(scope, make_row, id=scope.__name__) for scope, make_row in CHILD_SCOPES],
)
async def test_child_row_scopes_keep_each_account_to_its_own_rows(session, world, scope, make_row):
    # given a row of client A1 and one of B1 below their (visible) parents
    rows = {code: make_row(world, code) for code in ("A1", "B1")}
    session.add_all(rows.values())
    await session.commit()
    model = type(rows["A1"])
    for viewer, principal in world.viewers().items():
        # when each caller selects the rows in the scope
        seen = await ids_in_scope(session, model, scope(principal))
        # then the callers of account A see A1's row (their parent's scope decides which
        # client), those of B only B1's, anonymous callers none
        expected = {rows[code].id for code in rows if viewer in account_viewers(world, code[0])}
        assert seen == expected, viewer


async def test_settled_allocation_scope_hides_a_pending_payments_split(session, world):
    # given A1's payment still pending, with an allocation on A1's sent invoice
    payment = await session.get(Payment, world.row("payments", "A1", "").id)
    assert payment is not None
    payment.status = PaymentStatus.PENDING
    allocation = PaymentAllocation(
        account_id=payment.account_id,
        payment_id=payment.id,
        invoice_id=world.row("invoices", "A1", InvoiceStatus.SENT).id,
        amount=Decimal(10),
    )
    session.add(allocation)
    await session.commit()
    # when A's staff and A1's contact select allocations as read below an invoice and
    # below a payment
    for principal in (world.staff["A"], world.contact("A1")):
        below_invoice = await ids_in_scope(
            session, PaymentAllocation, access.settled_allocation_scope(principal)
        )
        below_payment = await ids_in_scope(
            session, PaymentAllocation, access.payment_allocation_scope(principal)
        )
        # then the planned split is on the payment but not (yet) on the invoice
        assert allocation.id not in below_invoice
        assert allocation.id in below_payment


async def test_account_scope_is_the_callers_own_account(session, world):
    for viewer, principal in world.viewers().items():
        # when each caller selects the accounts in its scope
        seen = await ids_in_scope(session, Account, access.account_scope(principal))
        # then it is its own account only; anonymous callers have none
        expected = {
            world.account_ids[account]
            for account in ACCOUNTS
            if viewer in account_viewers(world, account)
        }
        assert seen == expected, viewer


async def test_staff_name_scope_names_the_accounts_staff_to_all_its_callers(session, world):
    # given the admins of accounts A and B
    admins = {account: world.staff[account].user_id for account in ACCOUNTS}
    for viewer, principal in world.viewers().items():
        # when each caller selects the staff users whose names it may read
        names = await ids_in_scope(session, StaffUser, access.staff_name_scope(principal))
        # then every caller of an account (contacts too) names its staff, never another
        # account's; whole staff rows stay the staff's own
        for account, admin in admins.items():
            assert (admin in names) == (viewer in account_viewers(world, account)), viewer
        rows = await ids_in_scope(session, StaffUser, access.staff_user_scope(principal))
        assert bool(rows) == viewer.startswith("staff"), viewer


async def test_api_token_scope_gives_a_partner_only_its_own_token(session, world):
    # given two API tokens in account A and one in account B
    tokens = {
        name: ApiToken(
            account_id=world.account_ids[name[0]],
            name=name,
            token_prefix="pt_",
            token_hash=uuid.uuid4().hex,
        )
        for name in ("A first", "A second", "B only")
    }
    session.add_all(tokens.values())
    await session.commit()
    ids = {name: token.id for name, token in tokens.items()}
    partner = PartnerPrincipal(
        account_id=world.account_ids["A"],
        token_id=ids["A first"],
        scopes=PARTNER_SCOPES,
        modules=frozenset(Module),
    )

    async def seen(principal: Principal) -> set[Any]:
        return await ids_in_scope(session, ApiToken, access.api_token_scope(principal))

    # when A's staff, the partner holding A's first token, B's staff, A1's contact and an
    # anonymous caller select the tokens in their scope
    # then A's staff see both of A's tokens, the partner only its own, B's staff B's,
    # contacts and anonymous callers none
    assert await seen(world.staff["A"]) == {ids["A first"], ids["A second"]}
    assert await seen(partner) == {ids["A first"]}
    assert await seen(world.staff["B"]) == {ids["B only"]}
    assert await seen(world.contact("A1")) == set()
    assert await seen(Anonymous()) == set()


# --- the one action goes through the same scope --------------------------------------


async def test_set_auto_bill_refuses_rows_out_of_the_contacts_scope(session, world):
    # given a recurring invoice of A2 and a draft one of A1
    other_client = world.row("recurring invoices", "A2", RecurringStatus.ACTIVE)
    draft = world.row("recurring invoices", "A1", RecurringStatus.DRAFT)
    contact = world.contact("A1")
    # when A1's contact tries to change auto-billing on them
    # then both answer like an unknown id
    for row in (other_client, draft):
        with pytest.raises(NotFound):
            await set_auto_bill(
                session=session, actor=contact, recurring_invoice_id=row.id, enabled=True
            )


async def test_set_auto_bill_records_the_contacts_choice(session, world):
    # given an active OPT_IN recurring invoice of A1
    row = world.row("recurring invoices", "A1", RecurringStatus.ACTIVE)
    contact = world.contact("A1")
    # when A1's contact switches auto-billing on
    recurring = await set_auto_bill(
        session=session, actor=contact, recurring_invoice_id=row.id, enabled=True
    )
    await session.commit()
    # then the choice is stored and recorded once, by the contact
    assert recurring.auto_bill_enabled is True
    entries = (await session.exec(select(Activity).where(Activity.subject_id == row.id))).all()
    assert [(e.verb, e.actor_id, e.details) for e in entries] == [
        ("recurring_invoice.auto_bill_changed", contact.contact_id, {"enabled": True})
    ]


@pytest.mark.parametrize("policy", [AutoBill.OFF, AutoBill.ALWAYS])
async def test_set_auto_bill_is_a_conflict_when_the_business_decides(session, world, policy):
    # given an active recurring invoice of A1 whose policy leaves no choice to the client
    row = world.row("recurring invoices", "A1", RecurringStatus.ACTIVE)
    recurring = await session.get(RecurringInvoice, row.id)
    assert recurring is not None
    recurring.auto_bill = policy
    await session.commit()
    # when A1's contact tries to switch auto-billing on
    # then it is refused as a conflict
    with pytest.raises(Conflict):
        await set_auto_bill(
            session=session, actor=world.contact("A1"), recurring_invoice_id=row.id, enabled=True
        )
