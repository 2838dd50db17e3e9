"""Magic links (seed 003: "we always use a secure email link"), checked from the SMTP
server's side: one-time, 15 minutes, same answer for unknown emails, rate-limited."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from models.portal import PortalLink
from models.types import utcnow
from tests.portal.helpers import VIEWER, code_of, make_client, redeem, token_of

REQUEST = """
mutation($account: String!, $email: String!) { requestMagicLink(account: $account, email: $email) }
"""
ARCHIVE_CLIENT = "mutation($id: ID!) { archiveClient(id: $id) { id } }"


async def settle(runtime) -> None:
    """Let the background lookup and the mail delivery finish."""
    await runtime.background.drain()
    await runtime.mailer.drain()


def link_in(mail) -> str:
    text = mail.get_body(("plain",)).get_content()
    match = re.search(r"https?://\S+token=\S+", text)
    assert match, text
    html = mail.get_body(("html",)).get_content()
    assert match.group(0).replace("&", "&amp;") in html or match.group(0) in html
    return match.group(0)


async def test_magic_link_mail_signs_the_contact_in_once(gql, tenant, smtp_runtime, smtp_server):
    client = await make_client(gql, tenant.admin)
    jane = client["contacts"][0]
    # when Jane asks for a link (any case, surrounding spaces)
    answer = await gql.data(REQUEST, {"account": tenant.slug, "email": "  JANE@smith.test "})
    assert answer == {"requestMagicLink": True}
    await settle(smtp_runtime)
    [mail] = await smtp_server.wait_for(1)
    # then the mail comes from the account, to Jane, with a link to the account's portal
    assert mail["To"] == "jane@smith.test"
    assert "Acme" in mail["Subject"] or "Acme" in mail.get_body(("plain",)).get_content()
    link = link_in(mail)
    assert link.startswith(f"http://portal.test/portal/{tenant.slug}/sign-in?token=")
    # the link signs her in
    session = (await redeem(gql, token_of(link), tenant.slug))["data"]["redeemPortalLink"]
    viewer = await gql.data(VIEWER, token=session["token"])
    assert viewer["viewer"]["id"] == jane["id"]
    # and only once
    assert code_of(await redeem(gql, token_of(link))) == "UNAUTHENTICATED"


MUTATION_COST = {"cost": {"requested": 10, "limit": 5000}}


async def test_unknown_or_inactive_emails_get_the_same_answer_and_no_mail(
    gql, tenant, smtp_runtime, smtp_server
):
    client = await make_client(gql, tenant.admin)
    await gql.data(ARCHIVE_CLIENT, {"id": client["id"]}, token=tenant.admin)
    answers = [
        await gql(REQUEST, {"account": tenant.slug, "email": "nobody@nowhere.test"}),
        await gql(REQUEST, {"account": tenant.slug, "email": "jane@smith.test"}),  # archived
        await gql(REQUEST, {"account": "no-such-account", "email": "jane@smith.test"}),
    ]
    # the whole answer is the same, the cost extension included
    assert answers == [{"data": {"requestMagicLink": True}, "extensions": MUTATION_COST}] * 3
    await settle(smtp_runtime)
    assert smtp_server.messages == []


async def test_expired_magic_links_are_refused(gql, tenant, smtp_runtime, smtp_server):
    await make_client(gql, tenant.admin)
    await gql.data(REQUEST, {"account": tenant.slug, "email": "jane@smith.test"})
    await settle(smtp_runtime)
    [mail] = await smtp_server.wait_for(1)
    # the link is valid for 15 minutes
    async with smtp_runtime.sessions() as session:
        link = (await session.exec(select(PortalLink))).one()
        assert timedelta(minutes=14) < link.expires_at - link.created_at <= timedelta(minutes=15)
        await session.exec(update(PortalLink).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert code_of(await redeem(gql, token_of(link_in(mail)))) == "UNAUTHENTICATED"


async def test_requests_are_rate_limited_per_email_and_per_address(gql, tenant, smtp_runtime):
    await make_client(gql, tenant.admin)
    variables = {"account": tenant.slug, "email": "jane@smith.test"}
    for _ in range(3):
        assert "errors" not in await gql(REQUEST, variables)
    assert code_of(await gql(REQUEST, variables)) == "RATE_LIMITED"
    # other emails from the same address count against the address limit
    for n in range(17):
        await gql(REQUEST, {"account": tenant.slug, "email": f"someone{n}@x.test"})
    assert code_of(await gql(REQUEST, {"account": tenant.slug, "email": "fresh@x.test"})) == (
        "RATE_LIMITED"
    )
    await settle(smtp_runtime)


async def test_malformed_email_is_bad_input(gql, tenant):
    body = await gql(REQUEST, {"account": tenant.slug, "email": "not an email"})
    assert code_of(body) == "BAD_USER_INPUT"
