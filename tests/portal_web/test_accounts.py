"""Signing in with a password in the portal (issue 15): a mailed invite sets the
password and signs in, the password form signs in where the account allows passwords,
a reset link sets a new one, and registration where the account enables it. A mailed
link's token leaves the URL at once."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.conftest import PASSWORD
from tests.portal.helpers import make_client
from tests.portal.test_passwords import INVITE, link_in
from tests.portal_web.helpers import csrf_of

SETTINGS = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { name } }
"""
CLIENTS = "query { clients(first: 5) { nodes { name contacts { email } } } }"


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def mailed(smtp_runtime, smtp_server, count: int):
    await smtp_runtime.background.drain()
    await smtp_runtime.mailer.drain()
    return (await smtp_server.wait_for(count))[count - 1]


async def set_password(client, link: str, password: str):
    """Open a mailed password link and send the form; the form's answer."""
    path = urlsplit(link).path
    opened = await client.get(path_of(link))
    assert opened.status_code == 303
    assert opened.headers["location"] == path  # the token left the URL
    page = await client.get(path)
    assert page.status_code == 200
    assert 'autocomplete="new-password"' in page.text
    return await client.post(path, data={"password": password, "csrf": csrf_of(page.text)})


async def test_an_invite_sets_the_password_then_the_password_signs_in(
    gql, tenant, client, smtp_runtime, smtp_server
):
    jane = (await make_client(gql, tenant.admin))["contacts"][0]
    await gql.data(INVITE, {"id": jane["id"]}, token=tenant.admin)
    link = link_in(await mailed(smtp_runtime, smtp_server, 1))
    assert "/portal/acme/accept-invite?token=" in link
    # a weak password is refused with the API's reason, the link still usable
    weak = await set_password(client, link, "short")
    assert weak.status_code == 400
    assert "at least 10 characters" in weak.text
    done = await set_password(client, link, PASSWORD)
    assert done.status_code == 303
    assert done.headers["location"] == "/portal/acme/dashboard"
    assert "portico_portal=" in done.headers["set-cookie"]
    assert (await client.get("/portal/acme/dashboard")).status_code == 200
    # signed out, she signs in with the password
    client.cookies.clear()
    page = await client.get("/portal/acme/sign-in")
    assert 'autocomplete="current-password"' in page.text
    form = {"email": "jane@smith.test", "password": "wrong password!", "csrf": csrf_of(page.text)}
    wrong = await client.post("/portal/acme/sign-in", data=form)
    assert wrong.status_code == 400
    assert 'role="alert"' in wrong.text
    form["password"] = PASSWORD
    signed = await client.post("/portal/acme/sign-in", data=form)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/portal/acme/dashboard"
    assert (await client.get("/portal/acme/dashboard")).status_code == 200


async def test_a_forgotten_password_is_reset_from_the_mailed_link(
    gql, tenant, client, smtp_runtime, smtp_server
):
    await make_client(gql, tenant.admin)
    page = await client.get("/portal/acme/reset-password")
    assert page.status_code == 200
    sent = await client.post(
        "/portal/acme/reset-password", data={"email": "jane@smith.test", "csrf": csrf_of(page.text)}
    )
    assert "a link to set a new password is on its way" in sent.text
    link = link_in(await mailed(smtp_runtime, smtp_server, 1))
    assert "/portal/acme/reset-password?token=" in link
    done = await set_password(client, link, PASSWORD)
    assert done.status_code == 303
    assert done.headers["location"] == "/portal/acme/dashboard"
    assert (await client.get("/portal/acme/dashboard")).status_code == 200
    # the link is spent: opening it again ends on sign-in with a message
    again = await set_password(client, link, PASSWORD)
    assert again.status_code == 303
    assert again.headers["location"] == "/portal/acme/sign-in?notice=link-failed"


async def test_without_passwords_there_is_no_password_form(gql, tenant, client):
    await gql.data(SETTINGS, {"input": {"passwordLoginEnabled": False}}, token=tenant.admin)
    page = await client.get("/portal/acme/sign-in")
    assert 'type="password"' not in page.text
    assert "Email me a sign-in link" in page.text
    assert (await client.get("/portal/acme/reset-password")).status_code == 404


async def test_registration_where_the_account_enables_it(
    gql, tenant, client, smtp_runtime, smtp_server
):
    assert (await client.get("/portal/acme/register")).status_code == 404
    assert 'href="/portal/acme/register"' not in (await client.get("/portal/acme/sign-in")).text
    await gql.data(SETTINGS, {"input": {"registrationEnabled": True}}, token=tenant.admin)
    assert 'href="/portal/acme/register"' in (await client.get("/portal/acme/sign-in")).text
    page = await client.get("/portal/acme/register")
    form = {
        "first_name": "Ann",
        "last_name": "Lee",
        "company": "NewCo",
        "email": "ann@newco.test",
        "csrf": csrf_of(page.text),
    }
    assert (
        await client.post("/portal/acme/register", data={**form, "csrf": ""})
    ).status_code == 403
    done = await client.post("/portal/acme/register", data=form)
    assert done.status_code == 200
    assert "Check your email" in done.text
    clients = (await gql.data(CLIENTS, token=tenant.admin))["clients"]["nodes"]
    assert {"name": "NewCo", "contacts": [{"email": "ann@newco.test"}]} in clients
    link = link_in(await mailed(smtp_runtime, smtp_server, 1))
    assert "/portal/acme/verify-email?token=" in link
    opened = await client.get(path_of(link))
    assert opened.status_code == 303
    assert opened.headers["location"] == "/portal/acme/dashboard"
