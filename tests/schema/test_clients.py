"""Clients and contacts through the staff API."""

import uuid

import pytest

CREATE_CLIENT = """
mutation($input: ClientInput!) {
  createClient(input: $input) {
    id name company email currency archived portalEnabled privateNotes
    contacts { id email role isPrimary name }
  }
}
"""
UPDATE_CLIENT = """
mutation($id: ID!, $input: ClientInput!) {
  updateClient(id: $id, input: $input) { id name currency }
}
"""
ARCHIVE_CLIENT = "mutation($id: ID!) { archiveClient(id: $id) { id archived archivedAt } }"
RESTORE_CLIENT = "mutation($id: ID!) { restoreClient(id: $id) { id archived } }"
CLIENTS = """
query($first: Int, $after: String, $search: String, $archived: Boolean) {
  clients(first: $first, after: $after, search: $search, archived: $archived) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name } }
  }
}
"""
CLIENT = "query($id: ID!) { client(id: $id) { id name contacts { email } } }"
CREATE_CONTACT = """
mutation($clientId: ID!, $input: ContactInput!) {
  createContact(clientId: $clientId, input: $input) { id email role isPrimary }
}
"""
UPDATE_CONTACT = """
mutation($id: ID!, $input: UpdateContactInput!) {
  updateContact(id: $id, input: $input) { id email role isPrimary }
}
"""
DELETE_CONTACT = "mutation($id: ID!) { deleteContact(id: $id) }"


async def create_client(gql, token, **fields):
    data = await gql.data(CREATE_CLIENT, {"input": {"name": "Acme Corp", **fields}}, token=token)
    return data["createClient"]


async def test_create_client_with_contacts(gql, tenant):
    # when an admin creates a client with two contacts
    client = await create_client(
        gql,
        tenant.admin,
        company="Acme Corp Ltd",
        email="Billing@Acme.TEST",
        currency="eur",
        privateNotes="pays late",
        contacts=[
            {"email": "ann@acme.test", "firstName": "Ann", "lastName": "Lee", "role": "BILLING"},
            {"email": "bob@acme.test", "role": "COLLABORATOR", "isPrimary": True},
        ],
    )
    # then the client is stored with normalised fields
    assert client["name"] == "Acme Corp"
    assert client["email"] == "billing@acme.test"
    assert client["currency"] == "EUR"
    assert client["archived"] is False
    assert client["privateNotes"] == "pays late"
    # and the contact marked primary comes first, and is the only primary
    assert [(c["email"], c["isPrimary"]) for c in client["contacts"]] == [
        ("bob@acme.test", True),
        ("ann@acme.test", False),
    ]
    assert client["contacts"][1]["name"] == "Ann Lee"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"currency": "XXQ"}, "currency"),
        ({"name": "   "}, "name"),
        ({"contacts": [{"email": "broken@"}]}, "contacts.0.email"),
    ],
)
async def test_bad_client_input_is_refused_and_nothing_is_written(gql, tenant, fields, field):
    body = await gql(CREATE_CLIENT, {"input": {"name": "Acme", **fields}}, token=tenant.admin)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    listed = await gql.data(CLIENTS, token=tenant.admin)
    assert listed["clients"]["totalCount"] == 0


async def test_contact_email_is_unique_in_the_account(gql, tenant):
    # given a contact
    client = await create_client(gql, tenant.admin, contacts=[{"email": "ann@acme.test"}])
    # when another client is created with the same contact email
    body = await gql(
        CREATE_CLIENT,
        {"input": {"name": "Other", "contacts": [{"email": "ANN@acme.test"}]}},
        token=tenant.admin,
    )
    # then it is refused and the second client does not exist
    assert body["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "contacts.0.email"}
    listed = await gql.data(CLIENTS, token=tenant.admin)
    assert [edge["node"]["id"] for edge in listed["clients"]["edges"]] == [client["id"]]


async def test_the_same_contact_email_may_exist_in_another_account(gql, tenant, make_tenant):
    other = await make_tenant("globex")
    await create_client(gql, tenant.admin, contacts=[{"email": "ann@shared.test"}])
    again = await create_client(gql, other.admin, contacts=[{"email": "ann@shared.test"}])
    assert again["contacts"][0]["email"] == "ann@shared.test"


async def test_update_client(gql, tenant):
    client = await create_client(gql, tenant.admin)
    data = await gql.data(
        UPDATE_CLIENT, {"id": client["id"], "input": {"name": "Acme Inc"}}, token=tenant.admin
    )
    assert data["updateClient"] == {"id": client["id"], "name": "Acme Inc", "currency": "USD"}


async def test_archive_hides_the_client_from_the_default_list_and_restore_brings_it_back(
    gql, tenant
):
    client = await create_client(gql, tenant.admin)
    archived = (await gql.data(ARCHIVE_CLIENT, {"id": client["id"]}, token=tenant.admin))[
        "archiveClient"
    ]
    assert archived["archived"] is True
    assert archived["archivedAt"]
    assert (await gql.data(CLIENTS, token=tenant.admin))["clients"]["totalCount"] == 0
    only_archived = await gql.data(CLIENTS, {"archived": True}, token=tenant.admin)
    assert only_archived["clients"]["totalCount"] == 1
    everyone = await gql.data(CLIENTS, {"archived": None}, token=tenant.admin)
    assert everyone["clients"]["totalCount"] == 1
    restored = await gql.data(RESTORE_CLIENT, {"id": client["id"]}, token=tenant.admin)
    assert restored["restoreClient"]["archived"] is False


async def test_search_and_pagination(gql, tenant):
    # given five clients
    ids = [(await create_client(gql, tenant.admin, company=f"Company {n}"))["id"] for n in range(5)]
    await create_client(gql, tenant.admin, name="Zeta Widgets")
    # when paging two at a time
    seen: list[str] = []
    after = None
    while True:
        page = (await gql.data(CLIENTS, {"first": 2, "after": after}, token=tenant.admin))[
            "clients"
        ]
        assert page["totalCount"] == 6
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # then every client appears once, newest first
    assert len(seen) == 6
    assert len(set(seen)) == 6
    assert seen[1:] == list(reversed(ids))
    # and search matches name and company, ignoring case
    found = await gql.data(CLIENTS, {"search": "zeta"}, token=tenant.admin)
    assert [e["node"]["name"] for e in found["clients"]["edges"]] == ["Zeta Widgets"]
    found = await gql.data(CLIENTS, {"search": "COMPANY 3"}, token=tenant.admin)
    assert found["clients"]["totalCount"] == 1


@pytest.mark.parametrize(("first", "after"), [(-1, None), (101, None), (2, "garbage!")])
async def test_bad_paging_arguments(gql, tenant, first, after):
    body = await gql(CLIENTS, {"first": first, "after": after}, token=tenant.admin)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_another_accounts_client_answers_not_found(gql, tenant, make_tenant):
    # given a client of another account
    other = await make_tenant("globex")
    foreign = await create_client(gql, other.admin)
    # when this account's admin reads, updates or archives it
    for document, variables in [
        (CLIENT, {"id": foreign["id"]}),
        (UPDATE_CLIENT, {"id": foreign["id"], "input": {"name": "Hijacked"}}),
        (ARCHIVE_CLIENT, {"id": foreign["id"]}),
    ]:
        body = await gql(document, variables, token=tenant.admin)
        # then it looks exactly like an id that does not exist
        assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
        unknown = await gql(document, {**variables, "id": str(uuid.uuid4())}, token=tenant.admin)
        assert unknown["errors"][0]["message"] == body["errors"][0]["message"]
    # and it is unchanged
    data = await gql.data(CLIENT, {"id": foreign["id"]}, token=other.admin)
    assert data["client"]["name"] == "Acme Corp"


async def test_contacts_lifecycle(gql, tenant):
    client = await create_client(gql, tenant.admin, contacts=[{"email": "ann@acme.test"}])
    # add a billing contact and make it primary
    contact = (
        await gql.data(
            CREATE_CONTACT,
            {"clientId": client["id"], "input": {"email": "pay@acme.test", "role": "BILLING"}},
            token=tenant.admin,
        )
    )["createContact"]
    assert contact["isPrimary"] is False
    updated = (
        await gql.data(
            UPDATE_CONTACT,
            {"id": contact["id"], "input": {"isPrimary": True, "email": "ap@acme.test"}},
            token=tenant.admin,
        )
    )["updateContact"]
    assert updated == {
        "id": contact["id"],
        "email": "ap@acme.test",
        "role": "BILLING",
        "isPrimary": True,
    }
    listed = (await gql.data(CLIENT, {"id": client["id"]}, token=tenant.admin))["client"]
    assert [c["email"] for c in listed["contacts"]] == ["ap@acme.test", "ann@acme.test"]
    # an email already used is refused
    clash = await gql(
        UPDATE_CONTACT,
        {"id": contact["id"], "input": {"email": "ann@acme.test"}},
        token=tenant.admin,
    )
    assert clash["errors"][0]["extensions"]["code"] == "CONFLICT"
    # delete answers the id, and the contact is gone
    deleted = await gql.data(DELETE_CONTACT, {"id": contact["id"]}, token=tenant.admin)
    assert deleted["deleteContact"] == contact["id"]
    listed = (await gql.data(CLIENT, {"id": client["id"]}, token=tenant.admin))["client"]
    assert [c["email"] for c in listed["contacts"]] == ["ann@acme.test"]
