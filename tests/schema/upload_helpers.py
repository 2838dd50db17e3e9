"""Multipart GraphQL requests (the GraphQL multipart request spec) as a browser's upload
client sends them, and sample files whose bytes say what they are."""

from __future__ import annotations

import io
import json
import uuid
import zlib
from pathlib import Path
from typing import Any

import httpx

from models.clients import Contact
from services.portal.sessions import start_contact_session

PREFLIGHT = {"Apollo-Require-Preflight": "true"}

UPLOAD = """
mutation($input: UploadDocumentInput!) {
  uploadDocument(input: $input) {
    id filename contentType sizeBytes sha256 uploadedByClient downloadUrl
    client { id }
  }
}
"""
UPLOAD_STAFF = """
mutation($input: UploadDocumentInput!) {
  uploadDocument(input: $input) {
    id filename contentType sizeBytes sha256 visibleInPortal uploadedByClient downloadUrl
    client { id }
  }
}
"""
CREATE_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id role } } }
"""


def pdf(text: str = "hello") -> bytes:
    return b"%PDF-1.4\n% " + text.encode() + b"\n" + b"0" * 200 + b"\n%%EOF\n"


def png(width: int = 1, height: int = 1, padding: int = 0) -> bytes:
    """A real PNG (one grey pixel by default), ``padding`` bytes of extra chunk data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x00\x00\x00\x00"
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    extra = chunk(b"tEXt", b"pad\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


async def post_upload(
    http: httpx.AsyncClient,
    token: str | None,
    input: dict[str, Any],
    file: tuple[str, bytes, str] | None,
    *,
    query: str = UPLOAD,
    headers: dict[str, str] | None = None,
    path: str = "variables.input.file",
) -> httpx.Response:
    """One multipart POST: ``operations`` (the file's place null), ``map``, the file."""
    operations = {"query": query, "variables": {"input": {**input}}}
    files_map: dict[str, list[str]] = {}
    files: dict[str, Any] = {}
    if file is not None:
        files_map = {"0": [path]}
        files = {"0": (file[0], io.BytesIO(file[1]), file[2])}
    all_headers = {**(PREFLIGHT if headers is None else headers)}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    return await http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps(files_map)},
        files=files or {"none": ("", b"", "application/octet-stream")},
        headers=all_headers,
    )


async def post_raw_upload(
    http: httpx.AsyncClient,
    token: str,
    input: dict[str, Any],
    filename: bytes,
    content: bytes,
    *,
    query: str = UPLOAD,
) -> httpx.Response:
    """A multipart body written byte by byte, the file name exactly as given."""
    boundary = b"portico-test-boundary"
    operations = json.dumps({"query": query, "variables": {"input": input}}).encode()
    parts = [
        (b'name="operations"', operations),
        (b'name="map"', b'{"0": ["variables.input.file"]}'),
        (b'name="0"; filename="' + filename + b'"\r\nContent-Type: application/pdf', content),
    ]
    body = (
        b"".join(
            b"--"
            + boundary
            + b"\r\nContent-Disposition: form-data; "
            + head
            + b"\r\n\r\n"
            + data
            + b"\r\n"
            for head, data in parts
        )
        + b"--"
        + boundary
        + b"--\r\n"
    )
    return await http.post(
        "/graphql",
        content=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary.decode()}",
            "Authorization": f"Bearer {token}",
            **PREFLIGHT,
        },
    )


async def upload_body(http: httpx.AsyncClient, token: str | None, input, file, **kwargs):
    response = await post_upload(http, token, input, file, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def stored_files(root: Path) -> list[Path]:
    """Every file under the upload directory (partial ones included)."""
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


async def contact_token(runtime, contact_id: str) -> str:
    async with runtime.sessions() as session:
        contact = await session.get(Contact, uuid.UUID(contact_id))
        token = await start_contact_session(
            session=session, signer=runtime.signer, contact=contact, ttl=runtime.session_ttl
        )
        await session.commit()
    return token


async def portal_client(gql, runtime, tenant, name, roles=("BILLING", "COLLABORATOR", "VIEWER")):
    """A client with one contact per role, each signed in: (client, tokens by role)."""
    slug = name.split()[0].lower()
    contacts = [{"email": f"{role.lower()}@{slug}.test", "role": role} for role in roles]
    client = (
        await gql.data(
            CREATE_CLIENT, {"input": {"name": name, "contacts": contacts}}, token=tenant.admin
        )
    )["createClient"]
    tokens = {c["role"]: await contact_token(runtime, c["id"]) for c in client["contacts"]}
    return client, tokens
