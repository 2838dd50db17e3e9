"""``viewer { capabilities }``: the modules in force and the actions the caller may take,
never disagreeing with the schema it is served — an action is claimed exactly when its
mutations are in the caller's schema and the account's settings let them run."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from auth.profiles import STANDARD_PROFILES
from models.accounts import Account
from models.enums import Module, StaffRole
from schema.builder import build_full_schema
from schema.capabilities import ACTION_MUTATIONS
from services.capabilities import Action
from tests.schema.test_policy_matrix import PROFILE_FACTS, token_for
from tests.schema.viewer_helpers import new_client, sign_in_contact

CAPABILITIES = """
{ viewer { __typename capabilities { modules readOnly actions queries dashboardParts } } }
"""
MUTATIONS = "{ __schema { mutationType { fields { name } } } }"
SHAPE = """
{ __schema { queryType { fields { name } } } __type(name: "Dashboard") { fields { name } } }
"""


async def set_account(runtime, account_id, **values) -> None:
    async with runtime.sessions() as session:
        account = (await session.exec(select(Account).where(Account.id == account_id))).one()
        for name, value in values.items():
            setattr(account, name, value)
        session.add(account)
        await session.commit()


STRIPE = {
    "stripe_secret_key": "sealed-secret",
    "stripe_publishable_key": "pk_test_portico",
    "client_prepayments_enabled": True,  # off by default: the account opts in
}


async def served(gql, token) -> tuple[set[str], dict[str, Any]]:
    schema = (await gql.data(MUTATIONS, token=token))["__schema"]
    mutation_type = schema["mutationType"]
    names = {f["name"] for f in mutation_type["fields"]} if mutation_type else set()
    capabilities = (await gql.data(CAPABILITIES, token=token))["viewer"]["capabilities"]
    return names, capabilities


def test_every_action_names_mutations_that_exist():
    mutation_type = build_full_schema()._schema.mutation_type
    assert mutation_type is not None
    mutations = set(mutation_type.fields)
    assert set(ACTION_MUTATIONS) == set(Action)
    for action, names in ACTION_MUTATIONS.items():
        assert set(names) <= mutations, action


@pytest.mark.parametrize("profile", [p for p in STANDARD_PROFILES if p != "anonymous"])
async def test_capabilities_match_the_mutations_of_each_profiles_schema(
    profile, gql, tenant, runtime, backend
):
    if backend.name == "postgres":
        pytest.skip("the schema does not depend on the database; checked once on SQLite")
    # given a caller of this profile, in an account with Stripe connected and portal
    # payments and uploads on
    await set_account(runtime, tenant.account_id, **STRIPE)
    token = await token_for(profile, tenant, runtime, gql)
    # when it asks for its capabilities and for its schema's mutations
    mutations, capabilities = await served(gql, token)
    claimed = {Action(a) for a in capabilities["actions"]}
    # then every action claimed is mutations it is served, and every action whose
    # mutations it is served is claimed
    for action in claimed:
        assert set(ACTION_MUTATIONS[action]) <= mutations, (profile, action)
    for action, names in ACTION_MUTATIONS.items():
        if set(names) <= mutations:
            assert action in claimed, (profile, action)
    # and the queries and dashboard parts it is told of are those of its schema
    shape = await gql.data(SHAPE, token=token)
    assert capabilities["queries"] == [f["name"] for f in shape["__schema"]["queryType"]["fields"]]
    assert capabilities["dashboardParts"] == [f["name"] for f in shape["__type"]["fields"]]
    facts = PROFILE_FACTS[profile]
    assert capabilities["readOnly"] is bool(facts.get("ro"))
    expected_modules = facts.get("modules", set(Module))
    assert {Module(m) for m in capabilities["modules"]} == expected_modules


@pytest.mark.parametrize(
    ("profile", "some", "none"),
    [
        (
            "contact-billing",
            {Action.PAY_INVOICES, Action.APPROVE_QUOTES, Action.MANAGE_PAYMENT_METHODS},
            {Action.SEND_INVOICES, Action.ADMINISTER_ACCOUNT},
        ),
        (
            "contact-collaborator",
            {Action.UPLOAD_DOCUMENTS, Action.COMMENT_ON_TASKS, Action.OPEN_TICKETS},
            {Action.PAY_INVOICES, Action.APPROVE_QUOTES},
        ),
        ("contact-viewer", set(), {Action.PAY_INVOICES, Action.UPLOAD_DOCUMENTS}),
        ("contact-billing-readonly", set(), set(Action)),
        ("contact-billing-recurring-only", {Action.CHOOSE_AUTO_BILL}, {Action.PAY_INVOICES}),
        ("staff-owner", {Action.ADMINISTER_ACCOUNT, Action.SEND_INVOICES}, {Action.PAY_INVOICES}),
        ("staff-manager", {Action.SEND_INVOICES, Action.VIEW_AS_CONTACT}, {Action.MANAGE_WEBHOOKS}),
        ("staff-member", {Action.MANAGE_PROJECTS, Action.LOG_TIME}, {Action.RECORD_PAYMENTS}),
        ("partner-all", set(), set(Action)),
    ],
)
async def test_what_each_standard_profile_may_do(
    profile, some, none, gql, tenant, runtime, backend
):
    if backend.name == "postgres":
        pytest.skip("the schema does not depend on the database; checked once on SQLite")
    await set_account(runtime, tenant.account_id, **STRIPE)
    token = await token_for(profile, tenant, runtime, gql)
    claimed = {Action(a) for a in (await served(gql, token))[1]["actions"]}
    assert some <= claimed
    assert not none & claimed


async def test_account_settings_turn_actions_off_that_the_schema_still_has(gql, tenant, runtime):
    # given a billing and a collaborating contact, Stripe connected
    await set_account(runtime, tenant.account_id, **STRIPE)
    client = await new_client(gql, tenant, roles=("BILLING", "COLLABORATOR"))
    billing = await sign_in_contact(runtime, client["contacts"][0]["id"])
    collaborator = await sign_in_contact(runtime, client["contacts"][1]["id"])
    _, before = await served(gql, billing)
    assert {"PAY_INVOICES", "UPLOAD_DOCUMENTS", "COMMENT_ON_TASKS"} <= set(before["actions"])
    # when the account turns off payments, pre-payments and uploads from the portal
    await set_account(
        runtime,
        tenant.account_id,
        client_payments_enabled=False,
        client_uploads_enabled=False,
        client_prepayments_enabled=False,
    )
    mutations, after = await served(gql, billing)
    # then the contact may no longer pay, pre-pay or upload, though the mutations remain
    # (they answer FORBIDDEN), and everything else stays
    assert {"payInvoices", "uploadDocument", "makePrepayment"} <= mutations
    assert set(before["actions"]) - set(after["actions"]) == {
        "PAY_INVOICES",
        "UPLOAD_DOCUMENTS",
        "MAKE_PREPAYMENTS",
    }
    # and without Stripe nothing is charged or saved at Stripe
    await set_account(runtime, tenant.account_id, stripe_secret_key=None)
    _, unplugged = await served(gql, billing)
    assert "MANAGE_PAYMENT_METHODS" not in unplugged["actions"]
    # and with task sharing off the tasks module goes, its mutations with it
    await set_account(runtime, tenant.account_id, task_sharing_enabled=False)
    mutations, unshared = await served(gql, collaborator)
    assert "addTaskComment" not in mutations
    assert "COMMENT_ON_TASKS" not in unshared["actions"]
    assert "TASKS" not in unshared["modules"]


async def test_staff_are_told_the_accounts_modules(gql, tenant, runtime):
    # given an account with quotes and support tickets switched off
    kept = [m.value for m in Module if m not in (Module.QUOTES, Module.SUPPORT_TICKETS)]
    await set_account(runtime, tenant.account_id, enabled_modules=kept)
    # when a manager asks for its capabilities
    _, capabilities = await served(gql, tenant.tokens[StaffRole.MANAGER])
    # then they name the account's modules; staff keep the quote mutations to set them up
    assert capabilities["modules"] == kept
    assert "SEND_QUOTES" in capabilities["actions"]


async def test_capabilities_answer_for_the_caller_only(gql, tenant, runtime):
    # given a client's contact, read by staff and by the contact itself
    client = await new_client(gql, tenant)
    token = await sign_in_contact(runtime, client["contacts"][0]["id"])
    query = "{ clients { nodes { contacts { id capabilities { actions } } } } }"
    # when staff read the contact, then it has no capabilities of theirs to tell
    nodes = (await gql.data(query, token=tenant.admin))["clients"]["nodes"]
    assert [c["capabilities"] for n in nodes for c in n["contacts"]] == [None]
    # and the contact, reading itself through its client, gets its own
    mine = (await gql.data(query, token=token))["clients"]["nodes"][0]["contacts"][0]
    assert "APPROVE_QUOTES" in mine["capabilities"]["actions"]


async def test_anonymous_callers_have_no_viewer(gql):
    body = await gql(CAPABILITIES)
    assert "Cannot query field 'viewer' on type 'Query'." in body["errors"][0]["message"]
