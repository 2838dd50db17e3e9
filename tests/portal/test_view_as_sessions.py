"""A "view as client" session ends with the staff session that opened it: signing out
(or revoking that session) ends the view-as token over HTTP and closes its WebSockets."""

from __future__ import annotations

from server.graphql_view import ACCESS_REVOKED
from tests.conftest import PASSWORD, SIGN_IN
from tests.portal.helpers import VIEWER, dashboard_url, make_client, redeem, token_of
from tests.portal.test_revocation import closed_with, open_socket

VIEW_AS = "mutation($id: ID!) { viewAsContact(contactId: $id) { token } }"
SIGN_OUT = "mutation { signOut }"
SESSIONS = "query($contactId: ID) { sessions(contactId: $contactId) { id kind } }"


async def staff_session(gql) -> str:
    data = await gql.data(SIGN_IN, {"email": "manager@acme.test", "password": PASSWORD})
    token: str = data["signIn"]["token"]
    return token


async def view_as(gql, staff_token: str, contact_id: str) -> str:
    data = await gql.data(VIEW_AS, {"id": contact_id}, token=staff_token)
    token: str = data["viewAsContact"]["token"]
    return token


async def test_signing_out_ends_the_view_as_sessions_it_opened(gql, tenant, runtime):
    # given a staff session viewing the portal as a contact, with a socket open
    jane = (await make_client(gql, tenant.admin))["contacts"][0]
    staff = await staff_session(gql)
    viewing = await view_as(gql, staff, jane["id"])
    assert (await gql.data(VIEWER, token=viewing))["viewer"]["email"] == "jane@smith.test"
    async with open_socket(runtime, viewing) as ws:
        # when the staff user signs out of that session
        assert (await gql.data(SIGN_OUT, token=staff))["signOut"] is True
        # then the view-as socket is closed as unauthorized
        assert await closed_with(ws) == ACCESS_REVOKED
    # and the view-as token is refused
    response = await gql.post(VIEWER, token=viewing)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # and the contact's live sessions no longer list it
    listed = await gql.data(SESSIONS, {"contactId": jane["id"]}, token=tenant.admin)
    assert listed["sessions"] == []


async def test_other_staff_sessions_keep_their_view_as_sessions(gql, tenant):
    # given the same staff user signed in twice, viewing as a contact from each session
    jane = (await make_client(gql, tenant.admin))["contacts"][0]
    first, second = await staff_session(gql), await staff_session(gql)
    from_first = await view_as(gql, first, jane["id"])
    from_second = await view_as(gql, second, jane["id"])
    # when one session signs out
    await gql.data(SIGN_OUT, token=first)
    # then only the view-as session it opened ends
    assert (await gql.post(VIEWER, token=from_first)).status_code == 401
    assert (await gql.data(VIEWER, token=from_second))["viewer"]["email"] == "jane@smith.test"


async def test_a_staff_opened_portal_link_ends_with_the_staff_session(gql, tenant):
    # given staff opening a client's dashboard link (a read-only view, like view-as)
    jane = (await make_client(gql, tenant.admin))["contacts"][0]
    staff = await staff_session(gql)
    link = token_of(await dashboard_url(gql, tenant.admin, jane["id"]))
    body = await redeem(gql, link, auth=staff)
    assert body["data"]["redeemPortalLink"]["readOnly"] is True
    viewing = body["data"]["redeemPortalLink"]["token"]
    # when the staff session ends
    await gql.data(SIGN_OUT, token=staff)
    # then so does the view
    assert (await gql.post(VIEWER, token=viewing)).status_code == 401


REVOKE_SESSION = "mutation($id: ID!) { revokeSession(id: $id) { id } }"
OWN_SESSIONS = "{ sessions { id kind current } }"


async def test_revoking_the_staff_session_closes_its_view_as_sockets(gql, tenant, runtime):
    # given a staff session viewing as a contact with a socket open
    jane = (await make_client(gql, tenant.admin))["contacts"][0]
    staff, other = await staff_session(gql), await staff_session(gql)
    viewing = await view_as(gql, staff, jane["id"])
    own = (await gql.data(OWN_SESSIONS, token=staff))["sessions"]
    viewing_from = next(row["id"] for row in own if row["current"])
    async with open_socket(runtime, viewing) as ws:
        # when the same staff user revokes that session from another one
        await gql.data(REVOKE_SESSION, {"id": viewing_from}, token=other)
        # then the view-as socket is closed as unauthorized
        assert await closed_with(ws) == ACCESS_REVOKED
    # and the view-as token is refused, while the other staff session goes on
    assert (await gql.post(VIEWER, token=viewing)).status_code == 401
    assert (await gql.post(OWN_SESSIONS, token=other)).status_code == 200
