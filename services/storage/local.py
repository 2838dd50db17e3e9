"""Files in a local directory (``PORTICO_UPLOAD_DIR``), the default store.

A file is written beside its final name (``<key>.part-<random>``) and renamed into place
once complete, so a reader never sees half a file and a failed write leaves nothing.
File I/O runs in worker threads (anyio), never on the event loop.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio
import anyio.to_thread

from services.storage.base import CHUNK_BYTES, Storage, StoredFileMissing, check_key


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        return self.root / check_key(key)

    async def save(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        path = self.path_of(key)
        await anyio.to_thread.run_sync(lambda: path.parent.mkdir(parents=True, exist_ok=True))
        partial = path.with_name(f"{path.name}.part-{secrets.token_hex(8)}")
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
