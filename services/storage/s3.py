"""Objects in an S3-compatible bucket (AWS S3, MinIO, R2, ...) through aiobotocore, the
asyncio port of the official AWS SDK's core.

Used when ``PORTICO_S3_BUCKET`` is set (``PORTICO_S3_ENDPOINT_URL``, ``_REGION``,
``_ACCESS_KEY_ID``, ``_SECRET_ACCESS_KEY``, ``_PREFIX``; without keys the SDK's usual
credential chain applies). Uploads stream: a file smaller than one part is sent with
one ``PutObject``; a larger one as a multipart upload of :data:`PART_BYTES` parts, so
at most one part is held in memory. A failed multipart upload is aborted, so the bucket
keeps nothing of it. A client is opened per operation (no connection outlives it: the
store needs no shutdown hook).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import anyio
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from services.storage.base import (
    CHUNK_BYTES,
    Storage,
    StoredFileMissing,
    StoredObject,
    check_key,
)

PART_BYTES = 5 * 1024 * 1024
"""S3's smallest part (but the last)."""

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Storage(Storage):
    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._options: dict[str, Any] = {"region_name": region}
        if endpoint_url:
            self._options["endpoint_url"] = endpoint_url
        if access_key_id and secret_access_key:
            self._options["aws_access_key_id"] = access_key_id
            self._options["aws_secret_access_key"] = secret_access_key
        self._session = get_session()

    def _client(self) -> AbstractAsyncContextManager[Any]:
        return self._session.create_client("s3", **self._options)  # type: ignore[no-any-return]

    def _object_key(self, key: str) -> str:
        return f"{self.prefix}{check_key(key)}"

    async def save(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        name = self._object_key(key)
        async with self._client() as s3:
            buffer = bytearray()
            upload_id: str | None = None
            parts: list[dict[str, Any]] = []
            try:
                async for chunk in chunks:
                    buffer += chunk
                    while len(buffer) >= PART_BYTES:
                        if upload_id is None:
                            started = await s3.create_multipart_upload(Bucket=self.bucket, Key=name)
                            upload_id = started["UploadId"]
                        part = bytes(buffer[:PART_BYTES])
                        del buffer[:PART_BYTES]
                        parts.append(await self._part(s3, name, upload_id, len(parts) + 1, part))
                if upload_id is None:
                    await s3.put_object(Bucket=self.bucket, Key=name, Body=bytes(buffer))
                    return
                if buffer:
                    parts.append(
                        await self._part(s3, name, upload_id, len(parts) + 1, bytes(buffer))
                    )
                await s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=name,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            except BaseException:
                if upload_id is not None:
                    with anyio.CancelScope(shield=True):
                        await s3.abort_multipart_upload(
                            Bucket=self.bucket, Key=name, UploadId=upload_id
                        )
                raise

    async def _part(
        self, s3: Any, name: str, upload_id: str, number: int, body: bytes
    ) -> dict[str, Any]:
        answer = await s3.upload_part(
            Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        name = self._object_key(key)
        async with self._client() as s3:
            try:
                answer = await s3.get_object(Bucket=self.bucket, Key=name)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in _MISSING:
                    raise StoredFileMissing(key) from error
                raise
            body = answer["Body"]
            async with body:
                async for chunk in body.iter_chunks(CHUNK_BYTES):
                    yield chunk

    async def exists(self, key: str) -> bool:
        name = self._object_key(key)
        async with self._client() as s3:
            try:
                await s3.head_object(Bucket=self.bucket, Key=name)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in _MISSING:
                    return False
                raise
            return True

    async def delete(self, key: str) -> None:
        name = self._object_key(key)
        async with self._client() as s3:
            await s3.delete_object(Bucket=self.bucket, Key=name)

    async def listing(self, prefix: str) -> AsyncIterator[StoredObject]:
        name = f"{self._object_key(prefix.rstrip('/'))}/"
        async with self._client() as s3:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=name)
            async for page in pages:
                for item in page.get("Contents", []):
                    yield StoredObject(item["Key"][len(self.prefix) :], item["LastModified"])

    async def forget_partials(self, before: datetime) -> int:
        """Abort the multipart uploads begun before ``before`` under this store's prefix
        (a failed upload is aborted at once; these are the ones a killed process left)."""
        forgotten = 0
        async with self._client() as s3:
            pages = s3.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            async for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < before:
                        await s3.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        forgotten += 1
        return forgotten
