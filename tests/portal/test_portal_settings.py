"""Portal settings (issue 13, item 6): the logo and background uploaded with
``updateAccountSettings`` and served publicly, and the portal options an admin sets in
the same input (white label, client uploads and payments, task sharing, terms, privacy)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

from tests.schema.upload_helpers import ELF, SVG, png, portal_client, post_upload, stored_files
from tests.server.limit_helpers import http_client, with_settings

SETTINGS = """
mutation($input: AccountSettingsInput!) {
  updateAccountSettings(input: $input) {
    logoUrl backgroundImageUrl whiteLabel termsText privacyText clientUploadsEnabled
    clientUploadMaxBytes clientPaymentsEnabled taskSharingEnabled
  }
}
"""
PORTAL = """
query($account: String!) {
  portal(account: $account) { logoUrl backgroundImageUrl whiteLabel termsText privacyText }
}
"""
PAY = "mutation($ids: [ID!]!) { payInvoices(invoiceIds: $ids) { clientSecret } }"
TASKS = "{ tasks(first: 5) { totalCount } }"


def code_of(body):
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]["code"]


async def upload_image(http, token, field, file, input=None):
    response = await post_upload(
        http, token, input or {}, file, query=SETTINGS, path=f"variables.input.{field}"
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def upload_dir(runtime):
    return runtime.settings.upload_dir


async def test_an_uploaded_logo_is_served_publicly_through_the_portal(
    client, gql, make_tenant, upload_dir
):
    tenant = await make_tenant()
    logo = png(4, 4)
    # when the admin uploads a logo and a background
    body = await upload_image(client, tenant.admin, "logo", ("logo.png", logo, "image/png"))
    assert "errors" not in body, body
    background = png(8, 2)
    await upload_image(client, tenant.admin, "backgroundImage", ("bg.png", background, "image/png"))
    # then the public portal page points at them, and anyone fetches them
    portal = (await gql.data(PORTAL, {"account": tenant.slug}))["portal"]
    for url, content in ((portal["logoUrl"], logo), (portal["backgroundImageUrl"], background)):
        assert url.startswith("http://portal.test/branding/")
        response = await client.get(urlsplit(url).path)
        assert response.status_code == 200
        assert response.content == content
        assert response.headers["content-type"] == "image/png"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in response.headers["cache-control"]
    assert len(stored_files(upload_dir)) == 2
    # and a new logo replaces the old one, whose file is deleted
    old = portal["logoUrl"]
    body = await upload_image(client, tenant.admin, "logo", ("new.png", png(2, 2), "image/png"))
    new = body["data"]["updateAccountSettings"]["logoUrl"]
    assert new != old
    assert (await client.get(urlsplit(old).path)).status_code == 404
    assert len(stored_files(upload_dir)) == 2
    # and a logo URL given instead removes the uploaded one
    data = await gql.data(
        SETTINGS, {"input": {"logoUrl": "https://cdn.acme.test/logo.png"}}, token=tenant.admin
    )
    assert data["updateAccountSettings"]["logoUrl"] == "https://cdn.acme.test/logo.png"
    assert (await client.get(urlsplit(new).path)).status_code == 404
    assert len(stored_files(upload_dir)) == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("logo.svg", SVG),  # SVG can carry scripts
        ("logo.png", ELF),
        ("logo.png", b""),
        ("logo.gif", b"GIF89a" + b"\x00" * 50),  # a type documents accept, images do not
        ("logo.png", b"%PDF-1.4\n"),
    ],
)
async def test_only_png_jpeg_and_webp_images_are_accepted(
    client, gql, make_tenant, upload_dir, name, content
):
    tenant = await make_tenant()
    body = await upload_image(
        client, tenant.admin, "logo", (name, content, "image/png"), {"whiteLabel": True}
    )
    assert code_of(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "logo"
    # nothing kept, nothing else of the input applied
    assert stored_files(upload_dir) == []
    portal = (await gql.data(PORTAL, {"account": tenant.slug}))["portal"]
    assert portal["logoUrl"] is None
    assert portal["whiteLabel"] is False


async def test_an_image_above_its_limit_is_refused_while_it_streams(
    runtime, make_tenant, upload_dir
):
    tenant = await make_tenant()
    async with http_client(with_settings(runtime, branding_image_max_bytes=5_000)) as http:
        body = await upload_image(
            http, tenant.admin, "backgroundImage", ("bg.png", png(padding=10_000), "image/png")
        )
    assert code_of(body) == "PAYLOAD_TOO_LARGE"
    assert body["errors"][0]["extensions"]["field"] == "backgroundImage"
    assert stored_files(upload_dir) == []


async def test_only_images_in_use_are_served(client, make_tenant, runtime):
    tenant = await make_tenant()
    # a file in storage that no account shows (a document) is not reachable here
    key = f"branding/{tenant.account_id.hex}/{uuid.uuid4().hex}_png"

    async def chunks():
        yield png()

    await runtime.storage.save(key, chunks())
    assert (await client.get(f"/{key}")).status_code == 404
    assert (await client.get("/branding/x/..%2F..%2Fetc%2Fpasswd")).status_code == 404


async def test_portal_options_are_set_in_one_input_and_shown(gql, make_tenant):
    tenant = await make_tenant()
    data = await gql.data(
        SETTINGS,
        {
            "input": {
                "whiteLabel": True,
                "termsText": "Be nice.",
                "privacyText": "We keep little.",
                "clientUploadsEnabled": False,
                "clientUploadMaxBytes": 5_000_000,
                "clientPaymentsEnabled": False,
                "taskSharingEnabled": False,
            }
        },
        token=tenant.admin,
    )
    assert data["updateAccountSettings"] == {
        "logoUrl": None,
        "backgroundImageUrl": None,
        "whiteLabel": True,
        "termsText": "Be nice.",
        "privacyText": "We keep little.",
        "clientUploadsEnabled": False,
        "clientUploadMaxBytes": 5_000_000,
        "clientPaymentsEnabled": False,
        "taskSharingEnabled": False,
    }
    portal = (await gql.data(PORTAL, {"account": tenant.slug}))["portal"]
    assert portal["whiteLabel"] is True
    assert portal["termsText"] == "Be nice."
    # a client limit above the server's reads as the server's
    data = await gql.data(
        SETTINGS, {"input": {"clientUploadMaxBytes": 2_000_000_000}}, token=tenant.admin
    )
    assert data["updateAccountSettings"]["clientUploadMaxBytes"] == 25_000_000
    refused = await gql(SETTINGS, {"input": {"clientUploadMaxBytes": -1}}, token=tenant.admin)
    assert code_of(refused) == "BAD_USER_INPUT"
    refused = await gql(SETTINGS, {"input": {"primaryColor": "#12345G"}}, token=tenant.admin)
    assert code_of(refused) == "BAD_USER_INPUT"


async def test_turning_client_payments_off_refuses_paying_from_the_portal(
    gql, runtime, make_tenant
):
    tenant = await make_tenant()
    _, tokens = await portal_client(gql, runtime, tenant, "Smith & Co", roles=("BILLING",))
    await gql.data(SETTINGS, {"input": {"clientPaymentsEnabled": False}}, token=tenant.admin)
    body = await gql(PAY, {"ids": [str(uuid.uuid4())]}, token=tokens["BILLING"])
    assert code_of(body) == "FORBIDDEN"
    assert body["errors"][0]["message"] == "Payments from the portal are turned off."


async def test_turning_task_sharing_off_removes_tasks_from_every_contacts_schema(
    gql, runtime, make_tenant
):
    tenant = await make_tenant()
    _, tokens = await portal_client(gql, runtime, tenant, "Smith & Co", roles=("COLLABORATOR",))
    assert "errors" not in await gql(TASKS, token=tokens["COLLABORATOR"])
    await gql.data(SETTINGS, {"input": {"taskSharingEnabled": False}}, token=tenant.admin)
    assert code_of(await gql(TASKS, token=tokens["COLLABORATOR"])) == "GRAPHQL_VALIDATION_FAILED"
    # staff keep their tasks
    assert "errors" not in await gql(TASKS, token=tenant.admin)


async def test_contacts_read_the_portal_options_they_need(gql, runtime, make_tenant):
    tenant = await make_tenant()
    _, tokens = await portal_client(gql, runtime, tenant, "Smith & Co", roles=("BILLING",))
    query = "{ account { clientUploadsEnabled clientUploadMaxBytes clientPaymentsEnabled } }"
    data = await gql.data(query, token=tokens["BILLING"])
    assert data["account"] == {
        "clientUploadsEnabled": True,
        "clientUploadMaxBytes": 25_000_000,
        "clientPaymentsEnabled": True,
    }
    hidden = await gql("{ account { taskSharingEnabled } }", token=tokens["BILLING"])
    assert code_of(hidden) == "GRAPHQL_VALIDATION_FAILED"
