"""GraphQL documents and steps shared by the collaboration tests (projects, tasks, time
logs, support tickets)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.portal.helpers import contact_token, make_client

CREATE_PROJECT = """
mutation($input: ProjectInput!) {
  createProject(input: $input) { id name status client { id } }
}
"""
CREATE_TASK = """
mutation($input: TaskInput!) { createTask(input: $input) { id title visibility status } }
"""
TASKS = "query { tasks(first: 50) { edges { node { id title visibility } } } }"
TASK = "query($id: ID!) { task(id: $id) { id title status visibility following } }"
SET_STATUS = """
mutation($id: ID!, $status: TaskStatus!) { setTaskStatus(id: $id, status: $status) { id status } }
"""
COMMENT = """
mutation($taskId: ID!, $body: String!) {
  addTaskComment(taskId: $taskId, body: $body) { id body fromClient authorName }
}
"""
FOLLOW_TASK = """
mutation($id: ID!, $following: Boolean!) {
  followTask(id: $id, following: $following) { id following }
}
"""
UNSUBSCRIBE = "mutation($token: String!) { unsubscribe(token: $token) }"
UPDATE_SETTINGS = """
mutation($input: AccountSettingsInput!) {
  updateAccountSettings(input: $input) { id taskSharingEnabled }
}
"""


async def collab_client(
    gql: Any, staff_token: str, *, name: str = "Smith & Co", prefix: str = "smith"
) -> dict[str, Any]:
    """A client with a BILLING, a COLLABORATOR and a VIEWER contact, signed in, and a
    project with an hourly rate: ``{"client", "project", "tokens": {role: token},
    "contacts": {role: id}}``."""
    client = await make_client(
        gql,
        staff_token,
        name=name,
        contacts=[
            {"email": f"bill@{prefix}.test", "firstName": "Bill", "role": "BILLING"},
            {"email": f"cole@{prefix}.test", "firstName": "Cole", "role": "COLLABORATOR"},
            {"email": f"vera@{prefix}.test", "firstName": "Vera", "role": "VIEWER"},
        ],
    )
    contacts = {c["role"]: c["id"] for c in client["contacts"]}
    tokens = {role: await contact_token(gql, staff_token, cid) for role, cid in contacts.items()}
    project = (
        await gql.data(
            CREATE_PROJECT,
            {"input": {"clientId": client["id"], "name": "Website", "hourlyRate": "120.50"}},
            token=staff_token,
        )
    )["createProject"]
    return {"client": client, "project": project, "tokens": tokens, "contacts": contacts}


async def settle(runtime: Any) -> None:
    await runtime.background.drain()
    await runtime.mailer.drain()


def text_of(mail: Any) -> str:
    text: str = mail.get_body(("plain",)).get_content()
    return text


def unsubscribe_token_in(mail: Any) -> str:
    match = re.search(r"https?://\S+/unsubscribe\?token=\S+", text_of(mail))
    assert match, text_of(mail)
    html = mail.get_body(("html",)).get_content()
    assert match.group(0) in html
    return parse_qs(urlsplit(match.group(0)).query)["token"][0]


def code_of(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def unknown_field(body: dict[str, Any], field: str, type_name: str) -> bool:
    messages = [e["message"] for e in body.get("errors", [])]
    return f"Cannot query field '{field}' on type '{type_name}'." in messages
