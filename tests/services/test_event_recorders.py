"""The domain events: one recorder per verb in services/events/, each typed and
documented, every entry in one shape; nothing else writes the activity log."""

import ast
import importlib
import inspect
import re
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.activity import Activity, EventTopic, Verb
from models.clients import Contact
from models.enums import ContactRole, InvoiceStatus, LinkPurpose, StaffRole
from models.events import OutboxEvent
from models.invoices import Invoice
from services.activity import SECRET_DETAIL_MARKERS
from services.events import access as access_events
from services.events import invoices as invoice_events
from tests.source_trees import parse_file

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "services" / "events"
MODULES = sorted(path.stem for path in EVENTS.glob("*.py") if path.stem != "__init__")

NOT_RECORDED_YET: dict[Verb, str] = {}
"""Verbs no action records yet; an entry leaves this list with its recorder."""

STILL_RECORDING_DIRECTLY: dict[str, str] = {}
"""Modules outside services/events/ that still call ``activity.record`` (none: the demo
seeds through the actions)."""

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def tree_of(module: str) -> ast.Module:
    return parse_file(EVENTS / f"{module}.py")


def verbs_named(node: ast.AST) -> set[Verb]:
    return {
        Verb[child.attr]
        for child in ast.walk(node)
        if isinstance(child, ast.Attribute)
        and isinstance(child.value, ast.Name)
        and child.value.id == "Verb"
    }


def recorders(module: str) -> dict[str, set[Verb]]:
    """The module's public functions and the verbs each names."""
    return {
        node.name: verbs_named(node)
        for node in tree_of(module).body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }


def test_every_verb_has_exactly_one_recorder():
    # given the verbs each public function of services/events/* names
    by_verb: dict[Verb, list[str]] = {verb: [] for verb in Verb}
    for module in MODULES:
        found = recorders(module)
        # then only public recorders name verbs (a private helper takes the verb given)
        assert verbs_named(tree_of(module)) == set().union(*found.values()), module
        for name, verbs in found.items():
            assert verbs, f"services/events/{module}.py: {name} records no verb"
            for verb in verbs:
                by_verb[verb].append(f"{module}.{name}")
    # and every verb has exactly one, but those no action records yet (none at all)
    assert {verb: names for verb, names in by_verb.items() if len(names) != 1} == {
        verb: [] for verb in NOT_RECORDED_YET
    }


@pytest.mark.parametrize("module", MODULES)
def test_recorders_take_typed_named_parameters(module):
    loaded = importlib.import_module(f"services.events.{module}")
    for name in recorders(module):
        signature = inspect.signature(getattr(loaded, name))
        for parameter in signature.parameters.values():
            assert parameter.kind not in (
                inspect.Parameter.VAR_KEYWORD,
                inspect.Parameter.VAR_POSITIONAL,
            ), f"{module}.{name}(*{parameter.name})"
            assert parameter.annotation is not inspect.Parameter.empty, f"{module}.{name}"
        assert signature.return_annotation is not inspect.Signature.empty, f"{module}.{name}"


@pytest.mark.parametrize("module", MODULES)
def test_each_module_documents_its_events_and_what_the_client_sees(module):
    doc = ast.get_docstring(tree_of(module)) or ""
    for verb in set().union(*recorders(module).values()):
        assert f"``{verb.value}``" in doc, f"services/events/{module}.py: {verb.value}"
    assert "Shown to the client:" in doc


@pytest.mark.parametrize("module", MODULES)
def test_detail_keys_are_snake_case_and_never_look_like_credentials(module):
    keys: set[str] = set()
    for node in ast.walk(tree_of(module)):
        if isinstance(node, ast.Dict):
            keys |= {
                key.value
                for key in node.keys
                if isinstance(key, ast.Constant) and isinstance(key.value, str)
            }
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            keys.add(node.slice.value)
    assert keys
    assert sorted(key for key in keys if not SNAKE_CASE.match(key)) == []
    # staff are never shown such keys, so recording one would hide it from everyone
    assert sorted(key for key in keys if any(m in key for m in SECRET_DETAIL_MARKERS)) == []


def test_only_the_recorders_call_activity_record():
    callers = []
    for path in (ROOT / "services").rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if EVENTS in path.parents or relative in (
            "services/activity.py",
            *STILL_RECORDING_DIRECTLY,
        ):
            continue
        for node in ast.walk(parse_file(path)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "activity"
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == "services.activity"
                and any(alias.name == "record" for alias in node.names)
            ):
                callers.append(f"{relative}:{node.lineno}")
    assert callers == []


class Recording:
    """Stands in for a session: what the recorders add."""

    def __init__(self):
        self.added = []
        self.info = {}  # where follow-ups are registered (the relay's kick)

    def add(self, row):
        self.added.append(row)

    @property
    def session(self) -> AsyncSession:
        return cast(AsyncSession, self)


def test_an_overdue_invoice_is_on_the_clients_timeline_and_the_outbox():
    # given a sent invoice past its due date with part of it paid
    invoice = Invoice(
        account_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        number="INV-0007",
        status=InvoiceStatus.PARTIAL,
        currency="USD",
        due_date=date(2025, 3, 31),
        total=Decimal("100.00"),
        amount_paid=Decimal("40.00"),
    )
    recorded = Recording()
    # when the system records it overdue
    invoice_events.overdue(recorded.session, invoice)
    # then the entry is the system's, shown to the client, and partners get the same
    entry, event = recorded.added
    assert isinstance(entry, Activity)
    assert isinstance(event, OutboxEvent)
    assert (entry.verb, entry.actor_kind.value, entry.visible_to_client) == (
        "invoice.overdue",
        "SYSTEM",
        True,
    )
    assert entry.details == {"number": "INV-0007", "due_date": "2025-03-31", "balance": "60.00"}
    assert (event.topic, event.kind, event.payload) == (
        EventTopic.INVOICE,
        Verb.INVOICE_OVERDUE,
        entry.details,
    )


@pytest.mark.parametrize(
    ("link", "details"),
    [
        (None, {"email": "ann@example.com"}),
        (LinkPurpose.DASHBOARD, {"email": "ann@example.com", "link": "DASHBOARD"}),
    ],
)
def test_viewing_as_a_contact_has_one_shape_however_staff_got_there(link, details):
    # given a contact, and staff asking to view as it or opening one of its links
    contact = Contact(
        account_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        email="ann@example.com",
        role=ContactRole.BILLING,
    )
    staff = StaffPrincipal(
        account_id=contact.account_id,
        user_id=uuid.uuid4(),
        role=StaffRole.ADMIN,
        session_id=uuid.uuid4(),
    )
    recorded = Recording()
    access_events.viewed_as(recorded.session, contact, staff, link=link)
    # then one internal entry by the member of staff, about the contact
    (entry,) = recorded.added
    assert (entry.verb, entry.actor_id, entry.subject_id, entry.client_id) == (
        "contact.viewed_as",
        staff.user_id,
        contact.id,
        contact.client_id,
    )
    assert (entry.details, entry.visible_to_client) == (details, False)
