"""Files in a local directory (``PORTICO_UPLOAD_DIR``), the default store.

A file is written beside its final name (``<key>.part-<random>``) and renamed into place
once complete, so a reader never sees half a file and a failed write leaves nothing.
File I/O runs in worker threads (anyio), never on the event loop.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import anyio
import anyio.to_thread

from services.storage.base import (
    CHUNK_BYTES,
    Storage,
    StoredFileMissing,
    StoredObject,
    check_key,
)

PARTIAL_MARK = ".part-"
"""In the name of a file being written (``<key>.part-<random>``)."""


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        return self.root / check_key(key)

    async def save(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        path = self.path_of(key)
        await anyio.to_thread.run_sync(lambda: path.parent.mkdir(parents=True, exist_ok=True))
        partial = path.with_name(f"{path.name}{PARTIAL_MARK}{secrets.token_hex(8)}")
        try:
            async with await anyio.open_file(partial, "xb") as file:
                async for chunk in chunks:
                    await file.write(chunk)
            await anyio.to_thread.run_sync(os.replace, partial, path)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: partial.unlink(missing_ok=True))
            raise

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        try:
            file = await anyio.open_file(path, "rb")
        except FileNotFoundError as error:
            raise StoredFileMissing(key) from error
        async with file:
            while chunk := await file.read(CHUNK_BYTES):
                yield chunk

    async def exists(self, key: str) -> bool:
        path = self.path_of(key)
        return await anyio.to_thread.run_sync(path.is_file)

    async def delete(self, key: str) -> None:
        path = self.path_of(key)
        await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))

    async def listing(self, prefix: str) -> AsyncIterator[StoredObject]:
        top = self.path_of(prefix.rstrip("/"))
        for found in await anyio.to_thread.run_sync(self._files_under, top):
            if PARTIAL_MARK not in found.name:
                yield StoredObject(self._key_of(found), _modified_at(found))

    async def forget_partials(self, before: datetime) -> int:
        def forget() -> int:
            stale = [
                found
                for found in self._files_under(self.root)
                if PARTIAL_MARK in found.name and _modified_at(found) < before
            ]
            for found in stale:
                found.unlink(missing_ok=True)
            return len(stale)

        return await anyio.to_thread.run_sync(forget)

    def _key_of(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    @staticmethod
    def _files_under(top: Path) -> list[Path]:
        return [Path(folder) / name for folder, _, names in os.walk(top) for name in names]


def _modified_at(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)
