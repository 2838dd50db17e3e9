"""The storage interface, on a local directory and on an S3-compatible server (moto as a
real process): whole files, streamed reads, all-or-nothing writes, deletes; and the
upload path end to end over GraphQL with S3 configured."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from services.storage import storage_for
from services.storage.base import StoredFileMissing
from services.storage.local import LocalStorage
from services.storage.s3 import PART_BYTES, S3Storage
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY
from tests.schema.upload_helpers import pdf, portal_client, upload_body
from tests.server.limit_helpers import http_client

DELETE = "mutation($id: ID!) { deleteDocument(id: $id) }"


class Failed(Exception):
    pass


async def chunks_of(data: bytes, size: int = 256 * 1024, fail_after: int | None = None):
    for offset in range(0, len(data), size):
        if fail_after is not None and offset >= fail_after:
            raise Failed()
        yield data[offset : offset + size]


async def read_all(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    return request.getfixturevalue("s3_storage")


@pytest.mark.parametrize("size", [1, 1000, PART_BYTES, 2 * PART_BYTES + 12345])
async def test_a_file_is_stored_and_read_back_whole(storage, size):
    data = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
    data = data[:size]
    await storage.save("documents/a/b", chunks_of(data))
    assert await storage.exists("documents/a/b")
    assert await read_all(storage.stream("documents/a/b")) == data


async def test_a_write_that_fails_part_way_leaves_nothing(storage, tmp_path):
    data = b"x" * (2 * PART_BYTES + 10)
    with pytest.raises(Failed):
        await storage.save("documents/a/half", chunks_of(data, fail_after=PART_BYTES + 1))
    assert not await storage.exists("documents/a/half")
    if isinstance(storage, LocalStorage):
        assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


async def test_deleting_forgets_the_file_and_missing_is_no_error(storage):
    await storage.save("documents/a/c", chunks_of(b"hello"))
    await storage.delete("documents/a/c")
    assert not await storage.exists("documents/a/c")
    await storage.delete("documents/a/c")
    with pytest.raises(StoredFileMissing):
        await read_all(storage.stream("documents/a/c"))


@pytest.mark.parametrize("key", ["../etc/passwd", "a/../b", "A/b", "a//b", "/a", "a/b.txt"])
async def test_only_keys_portico_makes_are_accepted(storage, key):
    with pytest.raises(ValueError, match="not a storage key"):
        await storage.save(key, chunks_of(b"x"))


async def test_a_failed_multipart_upload_is_aborted_on_the_server(s3_server, s3_bucket):
    storage = S3Storage(
        bucket=s3_bucket,
        endpoint_url=s3_server.url,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
    with pytest.raises(Failed):
        await storage.save(
            "documents/a/big", chunks_of(b"y" * (3 * PART_BYTES), fail_after=2 * PART_BYTES)
        )
    async with s3_server.client() as s3:
        uploads = await s3.list_multipart_uploads(Bucket=s3_bucket)
        objects = await s3.list_objects_v2(Bucket=s3_bucket)
    assert uploads.get("Uploads", []) == []
    assert objects.get("KeyCount", 0) == 0


async def test_uploads_go_to_s3_when_it_is_configured(
    runtime, gql, make_tenant, s3_server, s3_bucket
):
    # given settings naming the bucket
    settings = runtime.settings.model_copy(
        update={
            "s3_bucket": s3_bucket,
            "s3_endpoint_url": s3_server.url,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SecretStr(SECRET_KEY),
            "s3_prefix": "portico/",
        }
    )
    storage = storage_for(settings)
    assert isinstance(storage, S3Storage)
    s3_runtime = dataclasses.replace(runtime, settings=settings, storage=storage)
    tenant = await make_tenant()
    _, tokens = await portal_client(gql, runtime, tenant, "Smith & Co")
    async with http_client(s3_runtime) as http:
        # when a contact uploads a file
        body = await upload_body(http, tokens["BILLING"], {}, ("a.pdf", pdf(), "application/pdf"))
        document = body["data"]["uploadDocument"]
        # then it is in the bucket, and its download streams from there
        async with s3_server.client() as s3:
            listed = await s3.list_objects_v2(Bucket=s3_bucket)
        [stored] = listed["Contents"]
        assert stored["Key"].startswith(f"portico/documents/{tenant.account_id.hex}/")
        assert stored["Size"] == len(pdf())
        response = await http.get(urlsplit(document["downloadUrl"]).path)
        assert response.status_code == 200
        assert response.content == pdf()
        # and deleting the document deletes the object
        deleted = await http.post(
            "/graphql",
            json={"query": DELETE, "variables": {"id": document["id"]}},
            headers={"Authorization": f"Bearer {tenant.admin}"},
        )
        assert deleted.json()["data"] == {"deleteDocument": document["id"]}, deleted.text
        async with s3_server.client() as s3:
            listed = await s3.list_objects_v2(Bucket=s3_bucket)
        assert listed.get("KeyCount", 0) == 0
