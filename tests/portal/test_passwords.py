"""Invites (set a password), password sign-in when the account allows it, and password
reset by email - checked from the SMTP server's side."""

from __future__ import annotations

import re

from models.enums import StaffRole
from tests.conftest import PASSWORD
from tests.portal.helpers import VIEWER, code_of, make_client, token_of

INVITE = """
mutation($id: ID!) { inviteContact(contactId: $id) { expiresAt contact { id email } } }
"""
ACCEPT = """
mutation($token: String!, $password: String!, $account: String) {
  acceptInvite(token: $token, password: $password, account: $account) { token }
}
"""
SIGN_IN = """
mutation($account: String!, $email: String!, $password: String!) {
  portalSignIn(account: $account, email: $email, password: $password) { token }
}
"""
REQUEST_RESET = """
mutation($account: String!, $email: String!) {
  requestPasswordReset(account: $account, email: $email)
}
"""
RESET = """
mutation($token: String!, $password: String!) {
  resetPassword(token: $token, password: $password) { token }
}
"""
SETTINGS = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { name } }
"""
REDEEM = "mutation($token: String!) { redeemPortalLink(token: $token) { token } }"


def link_in(mail) -> str:
    match = re.search(r"https?://\S+token=\S+", mail.get_body(("plain",)).get_content())
    assert match
    return match.group(0)


async def invited(gql, tenant, smtp_runtime, smtp_server, contact_id):
    await gql.data(INVITE, {"id": contact_id}, token=tenant.admin)
    await smtp_runtime.mailer.drain()
    return (await smtp_server.wait_for(len(smtp_server.messages) or 1))[-1]


async def test_invite_sets_a_password_and_signs_in(gql, tenant, smtp_runtime, smtp_server):
    client = await make_client(gql, tenant.admin)
    jane = client["contacts"][0]
    mail = await invited(gql, tenant, smtp_runtime, smtp_server, jane["id"])
    assert mail["To"] == "jane@smith.test"
    text = mail.get_body(("plain",)).get_content()
    assert "Admin User" in text  # who invited her
    link = link_in(mail)
    assert f"/portal/{tenant.slug}/accept-invite?token=" in link
    # a weak password is refused and the link stays usable
    weak = await gql(ACCEPT, {"token": token_of(link), "password": "short"})
    assert code_of(weak) == "BAD_USER_INPUT"
    accepted = await gql.data(ACCEPT, {"token": token_of(link), "password": PASSWORD})
    viewer = await gql.data(VIEWER, token=accepted["acceptInvite"]["token"])
    assert viewer["viewer"]["id"] == jane["id"]
    # the invite is spent
    again = await gql(ACCEPT, {"token": token_of(link), "password": PASSWORD})
    assert code_of(again) == "UNAUTHENTICATED"
    # and she signs in with her password
    signed = await gql.data(
        SIGN_IN, {"account": tenant.slug, "email": "jane@smith.test", "password": PASSWORD}
    )
    assert (await gql.data(VIEWER, token=signed["portalSignIn"]["token"]))["viewer"]["id"] == (
        jane["id"]
    )


async def test_invite_link_is_not_a_sign_in_link(gql, tenant, smtp_runtime, smtp_server):
    client = await make_client(gql, tenant.admin)
    mail = await invited(gql, tenant, smtp_runtime, smtp_server, client["contacts"][0]["id"])
    # wrong purpose: an invite cannot be redeemed as a magic link
    body = await gql(REDEEM, {"token": token_of(link_in(mail))})
    assert code_of(body) == "UNAUTHENTICATED"
    # and it cannot be used on another account's portal
    body = await gql(
        ACCEPT, {"token": token_of(link_in(mail)), "password": PASSWORD, "account": "x"}
    )
    assert code_of(body) == "UNAUTHENTICATED"


async def test_a_new_invite_replaces_the_previous_one(gql, tenant, smtp_runtime, smtp_server):
    client = await make_client(gql, tenant.admin)
    jane = client["contacts"][0]
    first = await invited(gql, tenant, smtp_runtime, smtp_server, jane["id"])
    await gql.data(INVITE, {"id": jane["id"]}, token=tenant.admin)
    await smtp_runtime.mailer.drain()
    second = (await smtp_server.wait_for(2))[-1]
    assert code_of(
        await gql(ACCEPT, {"token": token_of(link_in(first)), "password": PASSWORD})
    ) == ("UNAUTHENTICATED")
    assert "errors" not in await gql(
        ACCEPT, {"token": token_of(link_in(second)), "password": PASSWORD}
    )


async def test_password_sign_in_answers_alike_and_respects_the_setting(
    gql, tenant, smtp_runtime, smtp_server
):
    client = await make_client(gql, tenant.admin)
    mail = await invited(gql, tenant, smtp_runtime, smtp_server, client["contacts"][0]["id"])
    await gql.data(ACCEPT, {"token": token_of(link_in(mail)), "password": PASSWORD})
    wrong = await gql(
        SIGN_IN, {"account": tenant.slug, "email": "jane@smith.test", "password": "Wrong-pass-1"}
    )
    unknown = await gql(
        SIGN_IN, {"account": tenant.slug, "email": "who@smith.test", "password": PASSWORD}
    )
    no_password = await gql(
        SIGN_IN, {"account": tenant.slug, "email": "john@smith.test", "password": PASSWORD}
    )
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]
    assert no_password["errors"][0]["message"] == unknown["errors"][0]["message"]
    assert {code_of(wrong), code_of(unknown), code_of(no_password)} == {"UNAUTHENTICATED"}
    # with password login off, the portal says to use a link
    await gql.data(SETTINGS, {"input": {"passwordLoginEnabled": False}}, token=tenant.admin)
    body = await gql(
        SIGN_IN, {"account": tenant.slug, "email": "jane@smith.test", "password": PASSWORD}
    )
    assert code_of(body) == "FORBIDDEN"


async def test_password_sign_in_is_rate_limited(gql, tenant):
    await make_client(gql, tenant.admin)
    variables = {"account": tenant.slug, "email": "jane@smith.test", "password": "Wrong-pass-1"}
    codes = [code_of(await gql(SIGN_IN, variables)) for _ in range(6)]
    assert codes == ["UNAUTHENTICATED"] * 5 + ["RATE_LIMITED"]


async def test_password_reset_by_email_ends_other_sessions(gql, tenant, smtp_runtime, smtp_server):
    client = await make_client(gql, tenant.admin)
    invite = await invited(gql, tenant, smtp_runtime, smtp_server, client["contacts"][0]["id"])
    old_session = (
        await gql.data(ACCEPT, {"token": token_of(link_in(invite)), "password": PASSWORD})
    )["acceptInvite"]["token"]
    # unknown emails get the same answer
    for email in ("jane@smith.test", "ghost@smith.test"):
        assert await gql.data(REQUEST_RESET, {"account": tenant.slug, "email": email}) == {
            "requestPasswordReset": True
        }
    await smtp_runtime.background.drain()
    await smtp_runtime.mailer.drain()
    mails = await smtp_server.wait_for(2)
    assert [m["To"] for m in mails] == ["jane@smith.test", "jane@smith.test"]
    reset_link = link_in(mails[-1])
    assert "/reset-password?token=" in reset_link
    new = await gql.data(RESET, {"token": token_of(reset_link), "password": "New-Password-42"})
    assert (await gql.data(VIEWER, token=new["resetPassword"]["token"]))["viewer"]
    assert (await gql.post(VIEWER, token=old_session)).status_code == 401
    # the old password no longer works, the new one does
    old = await gql(
        SIGN_IN, {"account": tenant.slug, "email": "jane@smith.test", "password": PASSWORD}
    )
    assert code_of(old) == "UNAUTHENTICATED"
    assert "errors" not in await gql(
        SIGN_IN,
        {"account": tenant.slug, "email": "jane@smith.test", "password": "New-Password-42"},
    )


async def test_only_client_managers_invite(gql, tenant):
    client = await make_client(gql, tenant.admin)
    body = await gql(
        INVITE, {"id": client["contacts"][0]["id"]}, token=tenant.tokens[StaffRole.MEMBER]
    )
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"


CREATE_CLIENT = "mutation($i: ClientInput!) { createClient(input: $i) { id } }"


async def test_accepting_an_invite_does_not_hold_up_other_writers_while_it_hashes(
    gql, tenant, smtp_runtime, smtp_server
):
    import asyncio
    import time

    from auth.passwords import argon2_parameters

    # given an invite, accepted with production argon2 parameters (a slow hash)
    client = await make_client(gql, tenant.admin)
    mail = await invited(gql, tenant, smtp_runtime, smtp_server, client["contacts"][0]["id"])
    token = token_of(link_in(mail))
    finished: dict[str, float] = {}

    async def accept():
        body = await gql(ACCEPT, {"token": token, "password": "A-strong-pass-9"})
        finished["accept"] = time.perf_counter()
        return body

    async def other_writer():
        await asyncio.sleep(0.02)  # the acceptance is hashing by now
        body = await gql(CREATE_CLIENT, {"i": {"name": "Busy Ltd"}}, token=tenant.admin)
        finished["other"] = time.perf_counter()
        return body

    with argon2_parameters():
        accepted, created = await asyncio.gather(accept(), other_writer())
    # then both succeed, and the other mutation did not wait for the hash to end
    assert accepted["data"]["acceptInvite"]["token"], accepted
    assert created["data"]["createClient"]["id"], created
    assert finished["other"] < finished["accept"]
