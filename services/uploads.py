"""Checking an uploaded file while it streams into storage.

What a file is comes from its bytes, not its name or the ``Content-Type`` the client
sent: the first chunk is identified by ``filetype`` (magic numbers), and the type must be
on the allow-list given; a name whose extension says another type than the bytes (an
executable, or a PNG, named ``.pdf``) is refused. Text has no magic number: a file that
``filetype`` does not recognise counts as text only when it is UTF-8 without control
characters and its name ends in ``.txt``, ``.csv`` or ``.md``.

The bytes are counted and hashed (SHA-256) as they pass, and the stream stops with
:class:`PayloadTooLarge` as soon as it passes the limit; the store then keeps nothing
(:meth:`services.storage.base.Storage.save` is all or nothing).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

import filetype

from services.errors import BadInput, PayloadTooLarge
from services.storage.base import CHUNK_BYTES, Storage

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ZIP = "application/zip"
TEXT = "text/plain"
CSV = "text/csv"

EXTENSIONS: Mapping[str, tuple[str, ...]] = {
    PDF: (".pdf",),
    PNG: (".png",),
    JPEG: (".jpg", ".jpeg"),
    GIF: (".gif",),
    WEBP: (".webp",),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
    PPTX: (".pptx",),
    ZIP: (".zip",),
    TEXT: (".txt", ".md"),
    CSV: (".csv",),
}
"""The types Portico can recognise, with the name endings that go with each."""

DOCUMENT_TYPES = frozenset(EXTENSIONS)
"""What ``uploadDocument`` accepts."""

IMAGE_TYPES = frozenset({PNG, JPEG, WEBP})
"""What a logo or portal background may be (no SVG: it can carry scripts)."""

_TEXT_TYPES = {TEXT, CSV}
_KNOWN_SUFFIXES = {suffix: kind for kind, suffixes in EXTENSIONS.items() for suffix in suffixes}
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f"}
MAX_NAME_LENGTH = 255


class UploadedFile(Protocol):
    """What a GraphQL ``Upload`` gives (Starlette's ``UploadFile``)."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


def as_upload(value: object, *, field: str) -> UploadedFile:
    """``value`` when it is an uploaded file; a JSON request can put any value where the
    multipart request would have put the file."""
    if not callable(getattr(value, "read", None)):
        raise BadInput("Send the file as a multipart request (GraphQL upload).", field=field)
    return value  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class StoredUpload:
    key: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str


def clean_filename(name: str | None, *, field: str) -> str:
    """``name`` trimmed and NFC-normalised, or :class:`BadInput` when it is empty, too
    long, a path (``/``, ``\\``, ``..``) or holds control or invisible formatting
    characters (NUL, newlines, right-to-left overrides)."""
    value = unicodedata.normalize("NFC", (name or "").strip())
    if not value:
        raise BadInput("Give the file a name.", field=field)
    if len(value) > MAX_NAME_LENGTH:
        raise BadInput(f"Use a name of at most {MAX_NAME_LENGTH} characters.", field=field)
    if any(unicodedata.category(character) in {"Cc", "Cf", "Zl", "Zp"} for character in value):
        raise BadInput("A file name cannot hold control characters.", field=field)
    if "/" in value or "\\" in value or value.strip(".") == "" or ".." in value:
        raise BadInput("Give a file name, not a path.", field=field)
    return value


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def _is_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not only a character cut at the chunk's end
            return False
        text = head[: error.start].decode("utf-8")
    return not any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in text)


def identify(head: bytes, name: str, *, allowed: Collection[str], field: str) -> str:
    """The media type of a file starting with ``head``, named ``name``; :class:`BadInput`
    when it is not allowed or the name's extension says otherwise."""
    guess = filetype.guess(head)
    suffix = _suffix(name)
    claimed = _KNOWN_SUFFIXES.get(suffix)
    if guess is not None:
        detected: str = guess.mime
    elif claimed in _TEXT_TYPES and _is_text(head):
        detected = claimed
    else:
        detected = "application/octet-stream"
    if detected not in allowed:
        accepted = ", ".join(sorted({s for t in allowed for s in EXTENSIONS.get(t, ())}))
        raise BadInput(
            f"This kind of file is not accepted ({detected}). Accepted: {accepted}.",
            field=field,
        )
    if suffix and suffix not in EXTENSIONS[detected]:
        raise BadInput(
            f"The file's name ends in {suffix} but its content is {detected}.", field=field
        )
    return detected


async def store_upload(
    storage: Storage,
    upload: UploadedFile,
    *,
    key: str | Callable[[str], str],
    filename: str,
    allowed: Collection[str],
    max_bytes: int,
    field: str = "file",
) -> StoredUpload:
    """Stream ``upload`` into ``storage`` under ``key``, checking it on the way; on any
    refusal nothing is stored. ``key`` may be made from the media type found."""
    head = await upload.read(CHUNK_BYTES)
    if not head:
        raise BadInput("The file is empty.", field=field)
    content_type = identify(head, filename, allowed=allowed, field=field)
    if callable(key):
        key = key(content_type)
    digest = hashlib.sha256()
    size = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal size
        chunk = head
        while chunk:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(max_bytes, field=field)
            digest.update(chunk)
            yield chunk
            chunk = await upload.read(CHUNK_BYTES)

    await storage.save(key, chunks())
    return StoredUpload(
        key=key,
        filename=filename,
        content_type=content_type,
        size_bytes=size,
        sha256=digest.hexdigest(),
    )
