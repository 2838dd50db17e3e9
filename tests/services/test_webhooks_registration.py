"""Registering webhook endpoints through the API: who may, which URLs (SSRF), which
documents (validated against the token's schema), and a secret shown once only."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.activity import Activity
from models.enums import StaffRole
from models.webhooks import Webhook
from services.webhooks.signing import secret_box
from tests.portal.helpers import code_of
from tests.server.webhook_helpers import (
    CREATE_WEBHOOK,
    DELETE_WEBHOOK,
    UPDATE_WEBHOOK,
    WEBHOOK_QUERY,
    WEBHOOKS,
    create_webhook,
    partner_token,
)

PUBLIC = "https://93.184.215.14/hooks"
"""A public address (no lookup needed: the tests run offline)."""

WEBHOOK_TYPE = '{ __type(name: "Webhook") { fields { name } } }'


def error_of(body):
    (error,) = body["errors"]
    return error


async def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(runtime, tenant, gql):
    # given a partner token that may subscribe to invoice events
    token = await partner_token(gql, tenant.admin)
    # when an admin registers an endpoint for it
    body = await create_webhook(gql, tenant.admin, token["id"], PUBLIC)
    # then the answer has the endpoint and a generated secret
    created = body["data"]["createWebhook"]
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert created["webhook"]["url"] == PUBLIC
    assert created["webhook"]["enabled"] is True
    assert created["webhook"]["apiClient"] == {"id": token["id"], "name": "Partner"}
    # and the secret is readable nowhere afterwards: no field, no list, no activity
    fields = {
        f["name"] for f in (await gql.data(WEBHOOK_TYPE, token=tenant.admin))["__type"]["fields"]
    }
    assert "secret" not in fields
    listed = await gql(WEBHOOKS, token=tenant.admin)
    assert secret not in str(listed)
    body = await gql("query { webhooks { secret } }", token=tenant.admin)
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"
    async with runtime.sessions() as session:
        entries = (await session.exec(select(Activity))).all()
        stored = (await session.exec(select(Webhook))).one()
    assert secret not in stored.secret  # sealed at rest, opened to sign with
    assert secret_box(runtime.settings.secret_key.get_secret_value()).open(stored.secret) == secret
    assert secret not in str([entry.details for entry in entries])
    assert any(entry.verb == "webhook.created" for entry in entries)


async def test_a_given_secret_is_kept_and_a_short_one_refused(tenant, gql):
    token = await partner_token(gql, tenant.admin)
    body = await create_webhook(gql, tenant.admin, token["id"], PUBLIC, secret="short")
    assert (code_of(body), error_of(body)["extensions"]["field"]) == ("BAD_USER_INPUT", "secret")
    chosen = "my-own-secret-0123456789"
    body = await create_webhook(gql, tenant.admin, token["id"], PUBLIC, secret=chosen)
    assert body["data"]["createWebhook"]["secret"] == chosen


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://10.0.0.7/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hooks",
        "http://localhost/hooks",
        "https://user:secret@93.184.215.14/hooks",
        "https://93.184.215.14:8080/hooks",
    ],
)
async def test_urls_reaching_the_servers_network_are_refused(runtime, tenant, gql, url):
    token = await partner_token(gql, tenant.admin)
    body = await create_webhook(gql, tenant.admin, token["id"], url)
    error = error_of(body)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "url")
    async with runtime.sessions() as session:
        assert (await session.exec(select(Webhook))).all() == []


async def test_the_query_is_validated_against_the_tokens_schema(tenant, gql):
    token = await partner_token(gql, tenant.admin)
    # a field partners may not read (staff-only notes) is unknown in the token's schema
    hidden = "subscription { invoiceChanged { invoice { id privateNotes } } }"
    body = await gql(
        CREATE_WEBHOOK,
        {"input": {"apiTokenId": token["id"], "url": PUBLIC, "query": hidden}},
        token=tenant.admin,
    )
    error = error_of(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "query"}
    assert error["message"] == "Cannot query field 'privateNotes' on type 'Invoice'."
    # and documents that are not one invoiceChanged subscription are refused too
    for query in [
        "query { invoices { totalCount } }",
        "subscription { invoiceChanged { cursor",
        "subscription($a: String) { invoiceChanged(after: $a) { cursor } }",
        'subscription { invoiceChanged(after: "3") { cursor } }',
    ]:
        body = await gql(
            CREATE_WEBHOOK,
            {"input": {"apiTokenId": token["id"], "url": PUBLIC, "query": query}},
            token=tenant.admin,
        )
        assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "query"}, query


async def test_the_token_must_be_able_to_subscribe_to_invoices(tenant, gql):
    token = await partner_token(gql, tenant.admin, scopes=["invoices:read"])
    body = await create_webhook(gql, tenant.admin, token["id"], PUBLIC)
    error = error_of(body)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT",
        "apiTokenId",
    )


async def test_only_admins_manage_webhooks_and_only_their_accounts(tenant, gql, make_tenant):
    token = await partner_token(gql, tenant.admin)
    created = (await create_webhook(gql, tenant.admin, token["id"], PUBLIC))["data"]
    webhook_id = created["createWebhook"]["webhook"]["id"]
    # a manager's schema has no webhook fields at all
    manager = tenant.tokens[StaffRole.MANAGER]
    body = await create_webhook(gql, manager, token["id"], PUBLIC)
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"
    assert code_of(await gql(WEBHOOKS, token=manager)) == "GRAPHQL_VALIDATION_FAILED"
    # a partner token neither
    assert code_of(await gql(WEBHOOKS, token=token["token"])) == "GRAPHQL_VALIDATION_FAILED"
    # another account's admin finds neither the token nor the endpoint
    other = await make_tenant("other")
    assert code_of(await create_webhook(gql, other.admin, token["id"], PUBLIC)) == "NOT_FOUND"
    body = await gql(
        UPDATE_WEBHOOK, {"id": webhook_id, "input": {"enabled": False}}, token=other.admin
    )
    assert code_of(body) == "NOT_FOUND"
    assert code_of(await gql(DELETE_WEBHOOK, {"id": webhook_id}, token=other.admin)) == "NOT_FOUND"
    assert (await gql.data(WEBHOOKS, token=other.admin))["webhooks"] == []


async def test_update_and_delete(runtime, tenant, gql):
    token = await partner_token(gql, tenant.admin)
    created = (await create_webhook(gql, tenant.admin, token["id"], PUBLIC))["data"]
    webhook_id = created["createWebhook"]["webhook"]["id"]
    # turned off by staff
    data = await gql.data(
        UPDATE_WEBHOOK, {"id": webhook_id, "input": {"enabled": False}}, token=tenant.admin
    )
    assert data["updateWebhook"]["enabled"] is False
    assert data["updateWebhook"]["disabledAt"] is not None
    # a new URL is checked like the first
    body = await gql(
        UPDATE_WEBHOOK,
        {"id": webhook_id, "input": {"url": "http://127.0.0.1/x"}},
        token=tenant.admin,
    )
    assert error_of(body)["extensions"]["field"] == "url"
    # turned back on, with a narrower query
    narrower = WEBHOOK_QUERY.replace("client { id name }", "")
    data = await gql.data(
        UPDATE_WEBHOOK,
        {"id": webhook_id, "input": {"enabled": True, "query": narrower}},
        token=tenant.admin,
    )
    assert (data["updateWebhook"]["enabled"], data["updateWebhook"]["disabledReason"]) == (
        True,
        None,
    )
    # and removed
    await gql.data(DELETE_WEBHOOK, {"id": webhook_id}, token=tenant.admin)
    assert (await gql.data(WEBHOOKS, token=tenant.admin))["webhooks"] == []
    async with runtime.sessions() as session:
        verbs = [entry.verb for entry in (await session.exec(select(Activity))).all()]
    assert {"webhook.created", "webhook.updated", "webhook.deleted"} <= set(verbs)
