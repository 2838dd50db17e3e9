"""Self-registration (seed 004: "You can optionally allow anyone to register as a new
client")."""

from __future__ import annotations

import re

from tests.portal.helpers import VIEWER, code_of, make_client, redeem, token_of

REGISTER = """
mutation($account: String!, $input: RegisterClientInput!) {
  registerClient(account: $account, input: $input)
}
"""
SETTINGS = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { name } }
"""
CLIENTS = "query { clients { totalCount edges { node { name contacts { email role } } } } }"
NEW = {"email": "ann@newco.test", "firstName": "Ann", "lastName": "Lee", "company": "NewCo"}


def link_in(mail) -> str:
    match = re.search(r"https?://\S+token=\S+", mail.get_body(("plain",)).get_content())
    assert match
    return match.group(0)


async def test_registration_is_refused_unless_the_account_allows_it(gql, tenant):
    body = await gql(REGISTER, {"account": tenant.slug, "input": NEW})
    assert code_of(body) == "FORBIDDEN"
    clients = await gql.data(CLIENTS, token=tenant.admin)
    assert clients["clients"]["totalCount"] == 0


async def test_registration_creates_a_client_and_emails_a_verification_link(
    gql, tenant, smtp_runtime, smtp_server
):
    await gql.data(SETTINGS, {"input": {"registrationEnabled": True}}, token=tenant.admin)
    assert await gql.data(REGISTER, {"account": tenant.slug, "input": NEW}) == {
        "registerClient": True
    }
    clients = (await gql.data(CLIENTS, token=tenant.admin))["clients"]
    assert clients["edges"][0]["node"] == {
        "name": "NewCo",
        "contacts": [{"email": "ann@newco.test", "role": "BILLING"}],
    }
    await smtp_runtime.mailer.drain()
    [mail] = await smtp_server.wait_for(1)
    link = link_in(mail)
    assert "/verify-email?token=" in link
    session = (await redeem(gql, token_of(link)))["data"]["redeemPortalLink"]
    assert (await gql.data(VIEWER, token=session["token"]))["viewer"]["email"] == "ann@newco.test"


MUTATION_COST = {"cost": {"requested": 10, "limit": 5000}}  # the same as for a new email


async def test_registering_a_known_email_tells_nothing_and_mails_a_sign_in_link(
    gql, tenant, smtp_runtime, smtp_server
):
    await gql.data(SETTINGS, {"input": {"registrationEnabled": True}}, token=tenant.admin)
    await make_client(gql, tenant.admin)
    body = await gql(
        REGISTER, {"account": tenant.slug, "input": {**NEW, "email": "jane@smith.test"}}
    )
    assert body == {"data": {"registerClient": True}, "extensions": MUTATION_COST}
    clients = (await gql.data(CLIENTS, token=tenant.admin))["clients"]
    assert clients["totalCount"] == 1  # no second client
    await smtp_runtime.mailer.drain()
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == "jane@smith.test"
    assert "/sign-in?token=" in link_in(mail)


async def test_registration_validates_and_is_rate_limited(gql, tenant):
    await gql.data(SETTINGS, {"input": {"registrationEnabled": True}}, token=tenant.admin)
    body = await gql(REGISTER, {"account": tenant.slug, "input": {"email": "bad"}})
    assert code_of(body) == "BAD_USER_INPUT"
    body = await gql(REGISTER, {"account": tenant.slug, "input": {"email": "x@y.test"}})
    assert code_of(body) == "BAD_USER_INPUT"  # no name at all
    codes = []
    for n in range(5):
        answer = await gql(
            REGISTER, {"account": tenant.slug, "input": {**NEW, "email": f"p{n}@new.test"}}
        )
        codes.append(code_of(answer) if answer.get("errors") else "OK")
    assert codes[-1] == "RATE_LIMITED"
