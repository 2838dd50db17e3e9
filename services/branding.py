"""The portal's logo and background image: uploaded with ``updateAccountSettings``,
kept in storage and served publicly (``GET /branding/<key>``, what ``portal(account)``'s
``logoUrl`` and ``backgroundImageUrl`` point to).

Images are PNG, JPEG or WebP, identified from their bytes; SVG is refused (it can carry
scripts that would run on Portico's origin). At most ``branding_image_max_bytes``. As with
documents, the images stream into storage before the settings change is written, and
are deleted again when it fails; the images they replace are deleted after the commit.
"""

from __future__ import annotations

import dataclasses
import uuid

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.accounts import Account
from services.accounts import AccountSettingsData, update_account_settings
from services.config import Settings
from services.runtime import Runtime
from services.unit_of_work import end_read, unit_of_work
from services.uploads import (
    IMAGE_TYPES,
    JPEG,
    PNG,
    WEBP,
    UploadedFile,
    clean_filename,
    store_upload,
)

BRANDING_PREFIX = "branding/"
SUFFIXES = {PNG: "png", JPEG: "jpeg", WEBP: "webp"}
TYPES = {suffix: content_type for content_type, suffix in SUFFIXES.items()}


def image_url(settings: Settings, key: str | None) -> str | None:
    """The public URL of a stored branding image."""
    if key is None:
        return None
    return f"{settings.public_base_url.rstrip('/')}/{key}"


async def _store_image(
    runtime: Runtime, actor: StaffPrincipal, upload: UploadedFile, *, field: str
) -> str:
    base = f"{BRANDING_PREFIX}{actor.account_id.hex}/{uuid.uuid4().hex}"
    image = await store_upload(
        runtime.storage,
        upload,
        # the media type travels in the key: served with it, without a column for it
        key=lambda content_type: f"{base}_{SUFFIXES[content_type]}",
        filename=clean_filename(upload.filename or "image", field=field),
        allowed=IMAGE_TYPES,
        max_bytes=runtime.settings.branding_image_max_bytes,
        field=field,
    )
    return image.key


async def update_settings_with_images(
    *,
    runtime: Runtime,
    session: AsyncSession,
    actor: StaffPrincipal,
    data: AccountSettingsData,
    logo: UploadedFile | None = None,
    background_image: UploadedFile | None = None,
) -> Account:
    """``updateAccountSettings``: the settings in ``data``, and the images uploaded."""
    stored: list[str] = []
    if logo is not None or background_image is not None:
        await end_read(session)  # no transaction stays open while the files stream
    try:
        if logo is not None:
            stored.append(await _store_image(runtime, actor, logo, field="logo"))
            data = dataclasses.replace(data, logo_key=stored[-1])
        if background_image is not None:
            key = await _store_image(runtime, actor, background_image, field="backgroundImage")
            stored.append(key)
            data = dataclasses.replace(data, background_image_key=key)
        async with unit_of_work(runtime, session) as work:
            return await update_account_settings(session=work.session, actor=actor, data=data)
    except BaseException:
        for key in stored:
            await runtime.storage.delete(key)
        raise


async def image_in_use(session: AsyncSession, key: str) -> str | None:
    """The media type to serve ``key`` with, when an account shows it as its logo or
    background; ``None`` for any other key (nothing else in storage is public)."""
    if not key.startswith(BRANDING_PREFIX):
        return None
    found = (
        await session.exec(
            select(Account.id).where(
                or_(col(Account.logo_key) == key, col(Account.background_image_key) == key)
            )
        )
    ).first()
    if found is None:
        return None
    return TYPES.get(key.rpartition("_")[2])
