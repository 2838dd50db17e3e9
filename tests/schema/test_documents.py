"""Documents over HTTP: uploads as GraphQL multipart requests by staff and contacts, who
sees what, signed downloads, changes and deletion (issue 13, item 3). Every test runs
on SQLite and on PostgreSQL, with files in a temporary ``PORTICO_UPLOAD_DIR``."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import unquote, urlsplit

import pytest
from sqlmodel import select

from models.documents import Document
from models.projects import Project
from tests.schema.upload_helpers import (
    ELF,
    UPLOAD_STAFF,
    pdf,
    png,
    portal_client,
    post_raw_upload,
    post_upload,
    stored_files,
    upload_body,
)

DOCUMENTS = "{ documents(first: 50) { totalCount edges { node { id filename } } } }"
DOCUMENT = "query($id: ID!) { document(id: $id) { id filename downloadUrl } }"
UPDATE = """
mutation($id: ID!, $input: UpdateDocumentInput!) {
  updateDocument(id: $id, input: $input) { id filename visibleInPortal }
}
"""
DELETE = "mutation($id: ID!) { deleteDocument(id: $id) }"
SETTINGS = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
LINES = [{"description": "Design", "quantity": "1", "unitPrice": "100.00"}]


def code_of(body):
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]["code"]


def names(data) -> set[str]:
    return {edge["node"]["filename"] for edge in data["documents"]["edges"]}


@pytest.fixture
def upload_dir(runtime):
    return runtime.settings.upload_dir


@pytest.fixture
async def world(gql, runtime, make_tenant):
    tenant = await make_tenant()
    smith, smith_tokens = await portal_client(gql, runtime, tenant, "Smith & Co")
    jones, jones_tokens = await portal_client(gql, runtime, tenant, "Jones Ltd")
    return tenant, smith, smith_tokens, jones, jones_tokens


async def add_project(runtime, tenant, client_id: str, name: str = "Website") -> str:
    async with runtime.sessions() as session:
        project = Project(account_id=tenant.account_id, client_id=uuid.UUID(client_id), name=name)
        session.add(project)
        await session.commit()
        return str(project.id)


async def document_rows(runtime) -> list[Document]:
    async with runtime.sessions() as session:
        return list((await session.exec(select(Document))).all())


# --- staff ------------------------------------------------------------------------------


async def test_a_staff_upload_is_stored_hashed_and_hidden_until_shared(
    client, gql, runtime, world, upload_dir
):
    # given a client with contacts, and a PDF
    tenant, smith, smith_tokens, _, _ = world
    content = pdf("proposal")
    # when a manager uploads it for the client, not shared
    body = await upload_body(
        client,
        tenant.tokens["MANAGER"],
        {"clientId": smith["id"], "name": "Proposal v2.pdf"},
        ("whatever.pdf", content, "application/octet-stream"),
        query=UPLOAD_STAFF,
    )
    # then it is a document with the bytes' type, size and SHA-256
    document = body["data"]["uploadDocument"]
    assert document["filename"] == "Proposal v2.pdf"
    assert document["contentType"] == "application/pdf"
    assert document["sizeBytes"] == len(content)
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    assert document["visibleInPortal"] is False
    assert document["uploadedByClient"] is False
    assert document["client"] == {"id": smith["id"]}
    [stored] = stored_files(upload_dir)
    assert stored.read_bytes() == content
    # and staff download it through the signed link, as an attachment
    response = await client.get(urlsplit(document["downloadUrl"]).path)
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Proposal v2.pdf\"; filename*=UTF-8''Proposal%20v2.pdf"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    # but no contact sees it
    for token in smith_tokens.values():
        assert names(await gql.data(DOCUMENTS, token=token)) == set()
        hidden = await gql(DOCUMENT, {"id": document["id"]}, token=token)
        assert code_of(hidden) == "NOT_FOUND"


async def test_sharing_shows_it_to_the_clients_contacts_only(client, gql, runtime, world):
    tenant, smith, smith_tokens, _, jones_tokens = world
    body = await upload_body(
        client,
        tenant.admin,
        {"clientId": smith["id"]},
        ("brief.pdf", pdf(), "application/pdf"),
    )
    document_id = body["data"]["uploadDocument"]["id"]
    # when staff share it in the portal
    shared = await gql.data(
        UPDATE, {"id": document_id, "input": {"visibleInPortal": True}}, token=tenant.admin
    )
    assert shared["updateDocument"]["visibleInPortal"] is True
    # then every contact of the client sees and downloads it
    for token in smith_tokens.values():
        assert names(await gql.data(DOCUMENTS, token=token)) == {"brief.pdf"}
        url = (await gql.data(DOCUMENT, {"id": document_id}, token=token))["document"][
            "downloadUrl"
        ]
        assert (await client.get(urlsplit(url).path)).content == pdf()
    # and another client's contacts do not
    for token in jones_tokens.values():
        assert names(await gql.data(DOCUMENTS, token=token)) == set()
        assert code_of(await gql(DOCUMENT, {"id": document_id}, token=token)) == "NOT_FOUND"
    # and unsharing hides it again, its download links included
    await gql.data(
        UPDATE, {"id": document_id, "input": {"visibleInPortal": False}}, token=tenant.admin
    )
    assert names(await gql.data(DOCUMENTS, token=smith_tokens["BILLING"])) == set()
    assert (await client.get(urlsplit(url).path)).status_code == 404


async def test_deleting_a_document_deletes_its_file(client, gql, runtime, world, upload_dir):
    tenant, smith, _, _, _ = world
    body = await upload_body(
        client, tenant.admin, {"clientId": smith["id"]}, ("a.pdf", pdf(), "application/pdf")
    )
    document = body["data"]["uploadDocument"]
    assert len(stored_files(upload_dir)) == 1
    # when staff delete it
    deleted = await gql.data(DELETE, {"id": document["id"]}, token=tenant.tokens["MEMBER"])
    # then the row and the file are gone, and so is its download
    assert deleted == {"deleteDocument": document["id"]}
    assert stored_files(upload_dir) == []
    assert await document_rows(runtime) == []
    assert (await client.get(urlsplit(document["downloadUrl"]).path)).status_code == 404
    again = await gql(DELETE, {"id": document["id"]}, token=tenant.admin)
    assert code_of(again) == "NOT_FOUND"


async def test_the_client_follows_from_the_project_and_must_match(client, gql, runtime, world):
    tenant, smith, _, jones, _ = world
    website = await add_project(runtime, tenant, smith["id"])
    # given only a project, the document is the project's client's
    body = await upload_body(
        client, tenant.admin, {"projectId": website}, ("plan.pdf", pdf(), "application/pdf")
    )
    assert body["data"]["uploadDocument"]["client"] == {"id": smith["id"]}
    # and a project of another client than the one named is refused, with nothing kept
    refused = await upload_body(
        client,
        tenant.admin,
        {"clientId": jones["id"], "projectId": website},
        ("other.pdf", pdf("other"), "application/pdf"),
    )
    assert code_of(refused) == "BAD_USER_INPUT"
    assert refused["errors"][0]["extensions"]["field"] == "projectId"
    assert len(await document_rows(runtime)) == 1


async def test_a_document_attaches_to_an_invoice_of_the_client(client, gql, runtime, world):
    tenant, smith, _, jones, _ = world
    invoice = (
        await gql.data(
            CREATE_INVOICE, {"input": {"clientId": smith["id"], "lines": LINES}}, token=tenant.admin
        )
    )["createInvoice"]
    body = await upload_body(
        client, tenant.admin, {"invoiceId": invoice["id"]}, ("po.pdf", pdf(), "application/pdf")
    )
    assert body["data"]["uploadDocument"]["client"] == {"id": smith["id"]}
    # a MEMBER, who may not read invoices, cannot attach to one: it does not exist for them
    member = await upload_body(
        client,
        tenant.tokens["MEMBER"],
        {"invoiceId": invoice["id"]},
        ("po2.pdf", pdf("2"), "application/pdf"),
    )
    assert code_of(member) == "NOT_FOUND"
    wrong = await upload_body(
        client,
        tenant.admin,
        {"clientId": jones["id"], "invoiceId": invoice["id"]},
        ("po3.pdf", pdf("3"), "application/pdf"),
    )
    assert code_of(wrong) == "BAD_USER_INPUT"


# --- contacts ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["BILLING", "COLLABORATOR"])
async def test_a_contact_uploads_for_its_client_visible_to_it_and_staff(
    client, gql, runtime, world, role
):
    tenant, smith, smith_tokens, _, jones_tokens = world
    website = await add_project(runtime, tenant, smith["id"])
    # when a contact uploads a file to its client's project
    body = await upload_body(
        client,
        smith_tokens[role],
        {"projectId": website},
        ("site photo.png", png(), "image/png"),
    )
    document = body["data"]["uploadDocument"]
    assert document["uploadedByClient"] is True
    assert document["contentType"] == "image/png"
    # then the client's contacts and staff see it; another client's contacts do not
    for token in smith_tokens.values():
        assert names(await gql.data(DOCUMENTS, token=token)) == {"site photo.png"}
    assert names(await gql.data(DOCUMENTS, token=tenant.admin)) == {"site photo.png"}
    for token in jones_tokens.values():
        assert names(await gql.data(DOCUMENTS, token=token)) == set()
    # and staff cannot hide a client's own upload from the client
    hide = await gql(
        UPDATE, {"id": document["id"], "input": {"visibleInPortal": False}}, token=tenant.admin
    )
    assert code_of(hide) == "BAD_USER_INPUT"


async def test_a_viewer_has_no_upload_and_contacts_cannot_change_documents(
    client, gql, runtime, world
):
    _, _, smith_tokens, _, _ = world
    body = await upload_body(
        client, smith_tokens["VIEWER"], {}, ("a.pdf", pdf(), "application/pdf")
    )
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"
    update = await gql(
        UPDATE, {"id": str(uuid.uuid4()), "input": {"name": "x.pdf"}}, token=smith_tokens["BILLING"]
    )
    assert code_of(update) == "GRAPHQL_VALIDATION_FAILED"


async def test_a_contact_cannot_upload_to_another_clients_project_or_client(
    client, gql, runtime, world, upload_dir
):
    tenant, _smith, smith_tokens, jones, _ = world
    their_project = await add_project(runtime, tenant, jones["id"], "Their site")
    for input in ({"projectId": their_project}, {"clientId": jones["id"]}):
        body = await upload_body(
            client, smith_tokens["COLLABORATOR"], input, ("a.pdf", pdf(), "application/pdf")
        )
        assert code_of(body) == "NOT_FOUND"
    assert stored_files(upload_dir) == []
    assert await document_rows(runtime) == []


async def test_client_uploads_follow_the_portal_settings(client, gql, runtime, world, upload_dir):
    tenant, _, smith_tokens, _, _ = world
    # when the account turns client uploads off
    await gql.data(SETTINGS, {"input": {"clientUploadsEnabled": False}}, token=tenant.admin)
    off = await upload_body(
        client, smith_tokens["BILLING"], {}, ("a.pdf", pdf(), "application/pdf")
    )
    assert code_of(off) == "FORBIDDEN"
    # and back on with a 1 000-byte limit for clients
    await gql.data(
        SETTINGS,
        {"input": {"clientUploadsEnabled": True, "clientUploadMaxBytes": 1000}},
        token=tenant.admin,
    )
    big = pdf("x" * 2000)
    refused = await upload_body(
        client, smith_tokens["BILLING"], {}, ("big.pdf", big, "application/pdf")
    )
    assert code_of(refused) == "PAYLOAD_TOO_LARGE"
    assert refused["errors"][0]["extensions"]["maxBytes"] == 1000
    # then nothing was kept, on disk or in the database
    assert stored_files(upload_dir) == []
    assert await document_rows(runtime) == []
    # while staff still upload it (the server's limit applies to them)
    staff = await upload_body(client, tenant.admin, {}, ("big.pdf", big, "application/pdf"))
    assert staff["data"]["uploadDocument"]["sizeBytes"] == len(big)


async def test_a_contact_cannot_upload_a_hidden_file(client, world):
    _, _, smith_tokens, _, _ = world
    body = await upload_body(
        client,
        smith_tokens["BILLING"],
        {"visibleInPortal": False},
        ("a.pdf", pdf(), "application/pdf"),
    )
    assert code_of(body) == "BAD_USER_INPUT"


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "field"),
    [
        ("invoice.pdf", ELF, "file"),  # an executable named .pdf
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 300, "file"),
        ("photo.pdf", png(), "file"),  # a PNG named .pdf
        ("empty.pdf", b"", "file"),
        ("notes.txt", b"binary\x00\x01\x02 stuff", "file"),
        ("page.html", b"<html><script>alert(1)</script></html>", "file"),
        ("../../etc/passwd.pdf", pdf(), "file"),
        ("gpj\u202e.pdf", pdf(), "file"),  # a right-to-left override
        ("..", pdf(), "file"),
    ],
)
async def test_bad_files_are_refused_and_nothing_is_kept(
    client, runtime, world, upload_dir, name, content, field
):
    tenant, smith, _, _, _ = world
    body = await upload_body(
        client, tenant.admin, {"clientId": smith["id"]}, (name, content, "application/pdf")
    )
    assert code_of(body) == "BAD_USER_INPUT", body
    assert body["errors"][0]["extensions"]["field"] == field
    assert stored_files(upload_dir) == []
    assert await document_rows(runtime) == []


@pytest.mark.parametrize("name", [b"evil\x00.pdf", b"escape\x1b.pdf", b"bell\x07.pdf"])
async def test_control_characters_sent_raw_in_the_file_name_are_refused(
    client, runtime, world, upload_dir, name
):
    # given a multipart body written by hand (httpx would percent-encode them)
    tenant, smith, _, _, _ = world
    response = await post_raw_upload(client, tenant.admin, {"clientId": smith["id"]}, name, pdf())
    body = response.json()
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "file"}
    assert stored_files(upload_dir) == []
    assert await document_rows(runtime) == []


async def test_a_malformed_multipart_body_is_a_bad_request(client, world):
    # a raw carriage return ends the part's header early
    tenant, smith, _, _, _ = world
    response = await post_raw_upload(
        client, tenant.admin, {"clientId": smith["id"]}, b"line\rbreak.pdf", pdf()
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


@pytest.mark.parametrize(
    "name", ["a/b.pdf", "C:\\Users\\me\\cv.pdf", "../x.pdf", "tab\there.pdf", " ", "x" * 256]
)
async def test_a_bad_name_given_is_refused_on_the_name(client, runtime, world, name):
    tenant, smith, _, _, _ = world
    body = await upload_body(
        client,
        tenant.admin,
        {"clientId": smith["id"], "name": name},
        ("ok.pdf", pdf(), "application/pdf"),
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}
    assert await document_rows(runtime) == []


async def test_text_and_office_files_are_recognised(client, world):
    tenant, smith, _, _, _ = world
    body = await upload_body(
        client,
        tenant.admin,
        {"clientId": smith["id"]},
        ("notes.csv", "name,amount\nDésirée,12\n".encode(), "text/plain"),
    )
    assert body["data"]["uploadDocument"]["contentType"] == "text/csv"


async def test_the_same_file_twice_is_a_conflict_naming_the_first(
    client, runtime, world, upload_dir
):
    tenant, smith, smith_tokens, jones, _ = world
    first = await upload_body(
        client, tenant.admin, {"clientId": smith["id"]}, ("a.pdf", pdf(), "application/pdf")
    )
    first_id = first["data"]["uploadDocument"]["id"]
    # when the same bytes are uploaded again for the same client, under another name
    again = await upload_body(
        client, tenant.admin, {"clientId": smith["id"]}, ("b.pdf", pdf(), "application/pdf")
    )
    # then it is refused, naming the document that has them, and nothing more is kept
    assert code_of(again) == "CONFLICT"
    assert again["errors"][0]["extensions"]["existingDocumentId"] == first_id
    assert len(stored_files(upload_dir)) == 1
    # while another owner may have the same file: another client, or the client's own side
    other = await upload_body(
        client, tenant.admin, {"clientId": jones["id"]}, ("a.pdf", pdf(), "application/pdf")
    )
    assert "errors" not in other
    own = await upload_body(
        client, smith_tokens["BILLING"], {}, ("a.pdf", pdf(), "application/pdf")
    )
    assert "errors" not in own, own  # the staff's hidden copy is not revealed to the contact
    assert len(stored_files(upload_dir)) == 3


async def test_a_failed_transaction_leaves_no_file_behind(
    client, runtime, world, upload_dir, backend
):
    # given a database that refuses to write activity entries (a trigger): the document
    # row is written, then the transaction fails when it commits
    tenant, smith, _, _, _ = world
    async with runtime.engine.begin() as connection:
        if backend.name == "postgres":
            await connection.exec_driver_sql(
                "CREATE FUNCTION refuse_document() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql"
            )
            await connection.exec_driver_sql(
                "CREATE TRIGGER refuse_document BEFORE INSERT ON activity "
                "FOR EACH ROW EXECUTE FUNCTION refuse_document()"
            )
        else:
            await connection.exec_driver_sql(
                "CREATE TRIGGER refuse_document BEFORE INSERT ON activity "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
    try:
        # when a file is uploaded: it streams to storage, then the row cannot be written
        body = await upload_body(
            client, tenant.admin, {"clientId": smith["id"]}, ("a.pdf", pdf(), "application/pdf")
        )
        # then the error is masked and the stored file is gone again
        assert code_of(body) == "INTERNAL_SERVER_ERROR"
        assert stored_files(upload_dir) == []
        assert await document_rows(runtime) == []
    finally:
        async with runtime.engine.begin() as connection:
            await connection.exec_driver_sql(
                "DROP TRIGGER refuse_document"
                + (" ON activity" if backend.name == "postgres" else "")
            )
            if backend.name == "postgres":
                await connection.exec_driver_sql("DROP FUNCTION refuse_document()")


# --- the HTTP side ----------------------------------------------------------------------


async def test_a_multipart_request_without_the_preflight_header_is_refused(client, world):
    tenant, smith, _, _, _ = world
    response = await post_upload(
        client,
        tenant.admin,
        {"clientId": smith["id"]},
        ("a.pdf", pdf(), "application/pdf"),
        headers={},
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "PREFLIGHT_REQUIRED"
    # either header will do
    for header in ({"X-Portico-Upload": "1"}, {"Apollo-Require-Preflight": "true"}):
        ok = await post_upload(
            client,
            tenant.admin,
            {"clientId": smith["id"], "name": f"{len(header)}-{uuid.uuid4().hex}.pdf"},
            ("a.pdf", pdf(uuid.uuid4().hex), "application/pdf"),
            headers=header,
        )
        assert "errors" not in ok.json(), ok.text


async def test_a_download_names_a_unicode_file_safely(client, world):
    tenant, smith, _, _, _ = world
    name = 'Devis "final" — été.pdf'
    body = await upload_body(
        client,
        tenant.admin,
        {"clientId": smith["id"], "name": name},
        ("x.pdf", pdf(), "application/pdf"),
    )
    url = body["data"]["uploadDocument"]["downloadUrl"]
    response = await client.get(urlsplit(url).path)
    disposition = response.headers["content-disposition"]
    fallback, encoded = disposition.removeprefix("attachment; ").split("; ")
    assert fallback == 'filename="Devis _final_ _ _t_.pdf"'
    assert unquote(encoded.removeprefix("filename*=UTF-8''")) == name


async def test_an_upload_is_recorded_on_the_timeline(gql, client, world):
    tenant, smith, smith_tokens, _, _ = world
    await upload_body(client, smith_tokens["COLLABORATOR"], {}, ("a.pdf", pdf(), "application/pdf"))
    await upload_body(
        client, tenant.admin, {"clientId": smith["id"]}, ("hidden.pdf", pdf("h"), "application/pdf")
    )
    query = "{ activities(first: 10) { edges { node { verb } } } }"
    staff = await gql.data(query, token=tenant.admin)
    verbs = [edge["node"]["verb"] for edge in staff["activities"]["edges"]]
    assert verbs.count("document.uploaded") == 2
    contact = await gql.data(query, token=smith_tokens["COLLABORATOR"])
    contact_verbs = [edge["node"]["verb"] for edge in contact["activities"]["edges"]]
    assert contact_verbs.count("document.uploaded") == 1  # not the hidden one


async def test_a_partner_token_reads_shared_files_and_client_uploads_only(client, gql, world):
    tenant, smith, smith_tokens, _, _ = world
    for name, visible in (("shared.pdf", True), ("internal.pdf", False)):
        await upload_body(
            client,
            tenant.admin,
            {"clientId": smith["id"], "visibleInPortal": visible},
            (name, pdf(name), "application/pdf"),
        )
    await upload_body(
        client, smith_tokens["BILLING"], {}, ("from-client.pdf", pdf("c"), "application/pdf")
    )
    await upload_body(
        client,
        tenant.admin,
        {"visibleInPortal": True},
        ("account.pdf", pdf("a"), "application/pdf"),
    )
    created = await gql.data(
        'mutation { createApiToken(name: "Archive", scopes: ["documents:read"]) { token } }',
        token=tenant.admin,
    )
    partner = created["createApiToken"]["token"]
    query = "{ documents(first: 10) { edges { node { filename downloadUrl } } } }"
    data = await gql.data(query, token=partner)
    found = {
        edge["node"]["filename"]: edge["node"]["downloadUrl"] for edge in data["documents"]["edges"]
    }
    assert set(found) == {"shared.pdf", "from-client.pdf"}
    response = await client.get(urlsplit(found["shared.pdf"]).path)
    assert response.content == pdf("shared.pdf")


async def test_a_json_request_cannot_pass_a_string_for_the_file(gql, world):
    tenant, smith, _, _, _ = world
    body = await gql(
        UPLOAD_STAFF, {"input": {"clientId": smith["id"], "file": "%PDF-1.4"}}, token=tenant.admin
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "file"}
    settings = await gql(
        SETTINGS, {"input": {"logo": "data:image/png;base64,AAAA"}}, token=tenant.admin
    )
    assert settings["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "logo"}
