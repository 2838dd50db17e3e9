"""``replyToSupportTicket(file:)`` sent many times at once on one ticket, on SQLite and on
PostgreSQL: real multipart requests through the ASGI app, real storage on disk.

A reply with a file is one change (the document and the message): under concurrency each
one that succeeds appears exactly once with its file downloadable, and each one refused —
a kind of file not accepted, a file above the client's limit (refused mid-stream), the
same file as a reply that won the race, an attachment the author may not use (refused
after the file is stored) — leaves no message, no document and no stored file, partial
ones included. The ticket opens again and lists its messages oldest first.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import select

from models.documents import Document
from models.support import TicketMessage
from tests.portal_web.helpers import billed_client
from tests.schema.collab_helpers import collab_client
from tests.schema.test_capabilities import set_account
from tests.schema.upload_helpers import ELF, PREFLIGHT, pdf, png, post_upload, stored_files

OPEN = """
mutation($input: SupportTicketInput!) { openSupportTicket(input: $input) { id status } }
"""
CLOSE = "mutation($id: ID!) { closeSupportTicket(id: $id) { id status } }"
REPLY_WITH_FILE = """
mutation($ticketId: ID!, $body: String!, $attachmentIds: [ID!], $file: Upload) {
  replyToSupportTicket(
    ticketId: $ticketId, body: $body, attachmentIds: $attachmentIds, file: $file
  ) { id body attachments { id filename } }
}
"""
TICKET = """
query($id: ID!) {
  supportTicket(id: $id) {
    status closedAt updatedAt
    messages {
      id body fromClient createdAt
      attachments { id filename contentType sizeBytes sha256 downloadUrl client { id } }
    }
  }
}
"""
CLIENT_LIMIT = 100_000
"""The client's upload limit in these tests: above one storage chunk (64 KiB), so the
oversized file is refused after part of it was written."""


@dataclass(frozen=True)
class Reply:
    """One request of the race: who sends it, its text and file, and, for one that must
    be refused, the ``extensions`` expected."""

    who: str
    body: str
    file: tuple[str, bytes, str]
    refused: dict[str, Any] | None = None
    attachment_ids: tuple[str, ...] = ()


async def send(client, token: str, ticket_id: str, reply: Reply) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "ticketId": ticket_id,
        "body": reply.body,
        "attachmentIds": list(reply.attachment_ids) or None,
        "file": None,
    }
    name, content, media_type = reply.file
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": REPLY_WITH_FILE, "variables": variables}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (name, io.BytesIO(content), media_type)},
        headers={**PREFLIGHT, "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def text_file(name: str, words: str) -> tuple[str, bytes, str]:
    return (name, f"{words}\n".encode(), "text/plain")


async def test_concurrent_replies_with_files_are_each_kept_once_or_leave_nothing(
    gql, runtime, tenant, client, settings
):
    # given a ticket the client's billing contact opened, closed since by staff, and a
    # document of another client (which this client's contacts may not attach)
    await set_account(runtime, tenant.account_id, client_upload_max_bytes=CLIENT_LIMIT)
    world = await collab_client(gql, tenant.admin)
    tokens = {**world["tokens"], "STAFF": tenant.admin}
    ticket_id = (
        await gql.data(
            OPEN, {"input": {"subject": "Contract", "body": "See below."}}, token=tokens["BILLING"]
        )
    )["openSupportTicket"]["id"]
    await gql.data(CLOSE, {"id": ticket_id}, token=tenant.admin)
    rival = await billed_client(gql, tenant.admin, name="Rival Ltd")
    foreign = await post_upload(
        client, tenant.admin, {"clientId": rival.client_id}, text_file("rival.txt", "Rival's")
    )
    foreign_id = foreign.json()["data"]["uploadDocument"]["id"]
    before = stored_files(settings.upload_dir)
    assert len(before) == 1
    twice = text_file("signed.txt", "Signed by Jane.")
    replies = [
        Reply("BILLING", "The signed contract.", twice),
        Reply("COLLABORATOR", "The same, from me.", twice),  # one of these two loses
        Reply("COLLABORATOR", "The brief.", ("brief.pdf", pdf("brief"), "application/pdf")),
        Reply("BILLING", "A screenshot.", ("screen.png", png(2, 2), "image/png")),
        Reply("BILLING", "Notes.", text_file("notes.txt", "Call on Monday.")),
        Reply("COLLABORATOR", "Figures.", ("figures.csv", b"a,b\n1,2\n", "text/csv")),
        Reply("STAFF", "Our answer.", ("answer.pdf", pdf("answer"), "application/pdf")),
        Reply(
            "BILLING",
            "A program for you.",
            ("tool.exe", ELF, "application/octet-stream"),
            refused={"code": "BAD_USER_INPUT", "field": "file"},
        ),
        Reply(
            "COLLABORATOR",
            "The whole archive.",
            ("archive.txt", b"line of text\n" * 16_000, "text/plain"),
            refused={"code": "PAYLOAD_TOO_LARGE", "field": "file", "maxBytes": CLIENT_LIMIT},
        ),
        Reply(
            "BILLING",
            "Theirs and mine.",
            text_file("mine.txt", "My own file."),
            refused={"code": "NOT_FOUND"},  # not theirs: refused once the file is stored
            attachment_ids=(foreign_id,),
        ),
    ]

    # when all are sent at once, each its own request
    answers = await asyncio.gather(
        *(send(client, tokens[reply.who], ticket_id, reply) for reply in replies)
    )

    # then each refusal is the one expected, and of the two replies with the same file
    # exactly one went through and the other was told it is already uploaded
    sent: dict[str, Reply] = {}
    for reply, answer in zip(replies, answers, strict=True):
        if reply.refused is not None:
            assert answer["data"] is None, answer
            assert answer["errors"][0]["extensions"] == reply.refused, answer
        elif "errors" not in answer:
            message = answer["data"]["replyToSupportTicket"]
            assert message["body"] == reply.body
            assert [a["filename"] for a in message["attachments"]] == [reply.file[0]]
            assert message["id"] not in sent
            sent[message["id"]] = reply
    duplicates = [answer for answer in answers[:2] if "errors" in answer]
    assert len(duplicates) == 1, answers[:2]
    assert duplicates[0]["errors"][0]["extensions"]["code"] == "CONFLICT", duplicates
    assert duplicates[0]["errors"][0]["extensions"]["field"] == "file", duplicates
    assert len(sent) == 6
    lost = replies[0] if "errors" in answers[0] else replies[1]

    # and the ticket shows each reply that went through exactly once, oldest first, each
    # with its own file; none of the refused ones
    ticket = (await gql.data(TICKET, {"id": ticket_id}, token=tenant.admin))["supportTicket"]
    messages = ticket["messages"]
    assert messages[0]["body"] == "See below."
    assert sorted(m["id"] for m in messages[1:]) == sorted(sent)  # each once
    shown_at = [datetime.fromisoformat(m["createdAt"]) for m in messages]
    assert shown_at == sorted(shown_at)
    refused_bodies = {r.body for r in replies if r.refused is not None} | {lost.body}
    assert not refused_bodies & {m["body"] for m in messages}
    # the ticket opened again with the client's replies, changed no earlier than the last
    assert (ticket["status"], ticket["closedAt"]) == ("OPEN", None)
    assert datetime.fromisoformat(ticket["updatedAt"]) >= shown_at[-1]
    for message in messages[1:]:
        reply = sent[message["id"]]
        name, content, _media_type = reply.file
        assert message["body"] == reply.body
        assert message["fromClient"] is (reply.who != "STAFF")
        [attachment] = message["attachments"]
        assert attachment["filename"] == name
        assert attachment["sizeBytes"] == len(content)
        assert attachment["sha256"] == hashlib.sha256(content).hexdigest()
        assert attachment["client"] == {"id": world["client"]["id"]}
        # readable: the signed link gives the bytes back
        download = await client.get(urlsplit(attachment["downloadUrl"]).path)
        assert download.status_code == 200, (name, download.text[:200])
        assert download.content == content
        assert download.headers["content-type"].split(";")[0] == attachment["contentType"]
    # the client's contacts read the same conversation, every reply's file with it
    seen = await gql.data(TICKET, {"id": ticket_id}, token=tokens["COLLABORATOR"])
    assert [
        (m["id"], [a["id"] for a in m["attachments"]]) for m in seen["supportTicket"]["messages"]
    ] == [(m["id"], [a["id"] for a in m["attachments"]]) for m in messages]

    # and in the database and the storage: one message and one document per reply sent,
    # one stored file per document, nothing else (no partial file either)
    async with runtime.sessions() as session:
        rows = (
            await session.exec(
                select(TicketMessage).where(TicketMessage.ticket_id == uuid.UUID(ticket_id))
            )
        ).all()
        documents = (
            await session.exec(select(Document).where(Document.account_id == tenant.account_id))
        ).all()
    assert sorted(str(row.id) for row in rows if row.body != "See below.") == sorted(sent)
    assert len(rows) == 1 + len(sent)
    attached = {str(value) for row in rows for value in row.attachment_ids or []}
    assert {str(document.id) for document in documents} == attached | {foreign_id}
    assert sorted(d.filename for d in documents) == sorted(
        [r.file[0] for r in sent.values()] + ["rival.txt"]
    )
    on_disk = {
        path.relative_to(settings.upload_dir).as_posix()
        for path in stored_files(settings.upload_dir)
    }
    assert on_disk == {document.storage_key for document in documents}
