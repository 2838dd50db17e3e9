"""Storage of uploaded files: :mod:`.base` (the interface), :mod:`.local` (a
directory, the default) and :mod:`.s3` (an S3-compatible bucket)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.config import Settings
    from services.storage.base import Storage


def storage_for(settings: Settings) -> Storage:
    """The store the settings name: S3 when ``s3_bucket`` is set, else ``upload_dir``."""
    if settings.s3_bucket:
        from services.storage.s3 import S3Storage  # the SDK loads only when it is used

        secret = settings.s3_secret_access_key
        return S3Storage(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            prefix=settings.s3_prefix,
        )
    from services.storage.local import LocalStorage

    return LocalStorage(settings.upload_dir)
