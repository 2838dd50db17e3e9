"""What paying from the portal allows (partial payments, overpayment, the smallest
partial payment) is read over the API by whoever reads payments: a client's billing and
viewer contacts (the portal's Pay Now amount field) and money staff; never a
collaborator or a staff member, nor any contact while the Payments module is off."""

from __future__ import annotations

from models.enums import StaffRole
from tests.schema.test_prepayment_settings_read import UPDATE_ACCOUNT, refused
from tests.schema.test_recurring import portal_client

SETTINGS = "{ account { allowPartialPayments allowOverpayment minimumPaymentAmount } }"
FIELDS = ("allowPartialPayments", "allowOverpayment", "minimumPaymentAmount")


async def test_billing_and_viewer_contacts_and_money_staff_read_them(gql, runtime, tenant):
    _client, tokens = await portal_client(gql, runtime, tenant, roles=("BILLING", "VIEWER"))
    settings = {"allowPartialPayments": False, "minimumPaymentAmount": "25.00"}
    await gql.data(UPDATE_ACCOUNT, {"input": settings}, token=tenant.admin)
    expected = {
        "allowPartialPayments": False,
        "allowOverpayment": False,
        "minimumPaymentAmount": "25.00",
    }
    for token in (tokens["BILLING"], tokens["VIEWER"], tenant.tokens[StaffRole.MANAGER]):
        assert (await gql.data(SETTINGS, token=token))["account"] == expected


async def test_a_collaborator_a_staff_member_and_contacts_without_payments_cannot(
    gql, runtime, tenant
):
    _client, tokens = await portal_client(gql, runtime, tenant, roles=("COLLABORATOR",))
    for token in (tokens["COLLABORATOR"], tenant.tokens[StaffRole.MEMBER]):
        messages = refused(await gql(SETTINGS, token=token))
        for name in FIELDS:
            assert any(name in message for message in messages), (name, messages)
    modules = ["CLIENT_PORTAL", "INVOICES"]
    await gql.data(UPDATE_ACCOUNT, {"input": {"enabledModules": modules}}, token=tenant.admin)
    _other, billing = await portal_client(gql, runtime, tenant, name="Other Co")
    messages = refused(await gql(SETTINGS, token=billing["BILLING"]))
    assert any("allowPartialPayments" in message for message in messages), messages
