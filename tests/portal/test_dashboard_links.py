"""The client's secure dashboard link (seed 000) and what every link refuses."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from auth.tokens import TokenPurpose
from models.portal import PortalLink
from models.types import utcnow
from tests.portal.helpers import (
    VIEWER,
    code_of,
    contact_token,
    dashboard_url,
    make_client,
    redeem,
    token_of,
)


async def test_dashboard_link_opens_the_contacts_portal_without_signing_in(gql, tenant):
    # given a client whose billing contact gets a dashboard link from staff
    client = await make_client(gql, tenant.admin)
    jane = client["contacts"][0]
    url = await dashboard_url(gql, tenant.admin, jane["id"])
    # then the URL points at the account's portal
    assert url.startswith(f"http://portal.test/portal/{tenant.slug}/dashboard?token=")
    # when the contact opens it (twice: it is not one-use)
    first = await redeem(gql, token_of(url), tenant.slug)
    second = await redeem(gql, token_of(url))
    # then each opening gives a contact session that is the contact
    for body in (first, second):
        session = body["data"]["redeemPortalLink"]
        assert session["readOnly"] is False
        viewer = await gql.data(VIEWER, token=session["token"])
        assert viewer["viewer"] == {"__typename": "Contact", **jane}


async def test_rotating_the_dashboard_link_revokes_the_old_one_and_its_sessions(gql, tenant):
    client = await make_client(gql, tenant.admin)
    jane = client["contacts"][0]
    old_url = await dashboard_url(gql, tenant.admin, jane["id"])
    old_session = (await redeem(gql, token_of(old_url)))["data"]["redeemPortalLink"]["token"]
    # when staff create a new link
    new_url = await dashboard_url(gql, tenant.admin, jane["id"])
    # then the old link and the session opened with it stop at once
    assert code_of(await redeem(gql, token_of(old_url))) == "UNAUTHENTICATED"
    assert (await gql.post(VIEWER, token=old_session)).status_code == 401
    # and the new one works
    assert "errors" not in await redeem(gql, token_of(new_url))


async def test_links_refuse_tampering_other_purposes_other_accounts_and_expiry(
    gql, tenant, make_tenant, runtime
):
    client = await make_client(gql, tenant.admin)
    url = await dashboard_url(gql, tenant.admin, client["contacts"][0]["id"])
    token = token_of(url)
    # tampered: one character changed in the middle of the signature (the last base64
    # character carries padding bits, so changing it may not change the bytes)
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    assert code_of(await redeem(gql, tampered)) == "UNAUTHENTICATED"
    # garbage
    assert code_of(await redeem(gql, "not-a-token")) == "UNAUTHENTICATED"
    # the same row id signed for another purpose (a session token, an invite)
    raw = runtime.signer.unsign(TokenPurpose.DASHBOARD, token, max_age_seconds=None)
    for purpose in (TokenPurpose.SESSION, TokenPurpose.INVITE, TokenPurpose.DOWNLOAD):
        forged = runtime.signer.sign(purpose, raw)
        assert code_of(await redeem(gql, forged)) == "UNAUTHENTICATED"
    # another account's portal
    await make_tenant("globex")
    assert code_of(await redeem(gql, token, "globex")) == "UNAUTHENTICATED"
    # signed with another installation's secret
    from auth.tokens import TokenSigner

    foreign = TokenSigner("another-secret-key-of-another-install-0123").sign(
        TokenPurpose.DASHBOARD, raw
    )
    assert code_of(await redeem(gql, foreign)) == "UNAUTHENTICATED"
    # expired
    async with runtime.sessions() as session:
        await session.exec(update(PortalLink).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert code_of(await redeem(gql, token)) == "UNAUTHENTICATED"


async def test_staff_opening_a_clients_link_get_a_read_only_view(gql, tenant):
    client = await make_client(gql, tenant.admin)
    url = await dashboard_url(gql, tenant.admin, client["contacts"][0]["id"])
    # when a signed-in staff user opens the client's link
    body = await redeem(gql, token_of(url), auth=tenant.admin)
    session = body["data"]["redeemPortalLink"]
    # then the session is a read-only view: no mutations exist for it
    assert session["readOnly"] is True
    answer = await gql(
        "mutation { signOut }",
        token=session["token"],
    )
    assert answer["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_only_client_managers_create_dashboard_links(gql, tenant):
    from models.enums import StaffRole

    client = await make_client(gql, tenant.admin)
    jane = client["contacts"][0]
    body = await gql(
        "mutation($id: ID!) { createPortalLink(contactId: $id) { url } }",
        {"id": jane["id"]},
        token=tenant.tokens[StaffRole.MEMBER],
    )
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"
    # a contact cannot either
    token = await contact_token(gql, tenant.admin, jane["id"])
    body = await gql(
        "mutation($id: ID!) { createPortalLink(contactId: $id) { url } }",
        {"id": jane["id"]},
        token=token,
    )
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"


async def test_another_accounts_contact_is_not_found(gql, tenant, make_tenant):
    other = await make_tenant("globex")
    client = await make_client(gql, other.admin)
    body = await gql(
        "mutation($id: ID!) { createPortalLink(contactId: $id) { url } }",
        {"id": client["contacts"][0]["id"]},
        token=tenant.admin,
    )
    assert code_of(body) == "NOT_FOUND"
