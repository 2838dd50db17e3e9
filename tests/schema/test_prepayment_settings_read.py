"""Whether the account lets clients pay ahead, and from what amount, is read over the API
by whoever reads payments: a client's billing (and viewer) contacts, for the portal's
pay-ahead page, and money staff; never a collaborator or a staff member, nor any
contact while the Payments module is off for them."""

from __future__ import annotations

from typing import Any

from models.enums import StaffRole
from tests.schema.test_recurring import portal_client

SETTINGS = "{ account { clientPrepaymentsEnabled clientPrepaymentMinimum } }"
UPDATE_ACCOUNT = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""
ALLOW = {"input": {"clientPrepaymentsEnabled": True, "clientPrepaymentMinimum": "20.00"}}


def refused(body: dict[str, Any]) -> list[str]:
    """The messages of an answer refused as invalid for the caller's schema."""
    assert "data" not in body or body["data"] is None, body
    return [error["message"] for error in body["errors"]]


async def test_billing_and_viewer_contacts_read_the_prepayment_settings(gql, runtime, tenant):
    _client, tokens = await portal_client(gql, runtime, tenant, roles=("BILLING", "VIEWER"))
    for role in ("BILLING", "VIEWER"):
        data = await gql.data(SETTINGS, token=tokens[role])
        assert data["account"] == {
            "clientPrepaymentsEnabled": False,
            "clientPrepaymentMinimum": "0.00",
        }, role
    await gql.data(UPDATE_ACCOUNT, ALLOW, token=tenant.admin)
    data = await gql.data(SETTINGS, token=tokens["BILLING"])
    assert data["account"] == {"clientPrepaymentsEnabled": True, "clientPrepaymentMinimum": "20.00"}
    # money staff read them too
    manager = await gql.data(SETTINGS, token=tenant.tokens[StaffRole.MANAGER])
    assert manager["account"]["clientPrepaymentMinimum"] == "20.00"


async def test_a_collaborator_and_a_staff_member_cannot(gql, runtime, tenant):
    await gql.data(UPDATE_ACCOUNT, ALLOW, token=tenant.admin)
    _client, tokens = await portal_client(gql, runtime, tenant, roles=("COLLABORATOR",))
    for token in (tokens["COLLABORATOR"], tenant.tokens[StaffRole.MEMBER]):
        messages = refused(await gql(SETTINGS, token=token))
        assert any("clientPrepaymentsEnabled" in message for message in messages), messages
        assert any("clientPrepaymentMinimum" in message for message in messages), messages
    # the account's name stays readable to them
    data = await gql.data("{ account { name } }", token=tokens["COLLABORATOR"])
    assert data["account"]["name"] == "Acme"


async def test_with_payments_off_for_contacts_no_contact_can(gql, runtime, tenant):
    modules = ["CLIENT_PORTAL", "INVOICES", "QUOTES"]
    await gql.data(UPDATE_ACCOUNT, {"input": {"enabledModules": modules}}, token=tenant.admin)
    _client, tokens = await portal_client(gql, runtime, tenant)
    messages = refused(await gql(SETTINGS, token=tokens["BILLING"]))
    assert any("clientPrepaymentsEnabled" in message for message in messages), messages
