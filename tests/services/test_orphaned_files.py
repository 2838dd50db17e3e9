"""The sweep of stored files no row names (services/orphaned_files.py), on a local
directory and on an S3-compatible server (moto as a real process), on both databases:
what a killed upload or a failed after-commit delete left behind goes; documents, logos,
backgrounds, fresh uploads and files outside Portico's prefixes stay."""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from models.types import utcnow
from server.scheduler import RecurringScheduler
from services.orphaned_files import sweep_orphaned_files
from services.storage.local import LocalStorage
from tests.portal.test_portal_settings import upload_image
from tests.schema.upload_helpers import pdf, png, portal_client, upload_body
from tests.server.limit_helpers import http_client


async def _once(data: bytes):
    yield data


@pytest.fixture(params=["local", "s3"])
def stored_runtime(request, runtime, tmp_path):
    """``runtime`` storing its files in a fresh directory, or in a bucket."""
    if request.param == "local":
        storage = LocalStorage(tmp_path / "swept")
    else:
        storage = request.getfixturevalue("s3_storage")
    return dataclasses.replace(runtime, storage=storage)


async def _keys(storage, prefix):
    return {stored.key async for stored in storage.listing(prefix)}


async def test_only_files_no_row_names_are_swept(stored_runtime, gql, make_tenant):
    runtime = stored_runtime
    storage = runtime.storage
    tenant = await make_tenant()
    _, tokens = await portal_client(gql, runtime, tenant, "Smith & Co")
    async with http_client(runtime) as http:
        # given a document a contact uploaded, and the account's uploaded logo ...
        body = await upload_body(http, tokens["BILLING"], {}, ("a.pdf", pdf(), "application/pdf"))
        document = body["data"]["uploadDocument"]
        logo = await upload_image(http, tenant.admin, "logo", ("logo.png", png(2, 2), "image/png"))
        logo_url = logo["data"]["updateAccountSettings"]["logoUrl"]
        # ... files a killed upload left under both prefixes, and a file not Portico's
        orphans = {
            f"documents/{tenant.account_id.hex}/{uuid.uuid4().hex}",
            f"branding/{tenant.account_id.hex}/{uuid.uuid4().hex}_png",
        }
        for key in [*orphans, "backups/nightly"]:
            await storage.save(key, _once(b"left behind"))
        named = await _keys(storage, "documents/") | await _keys(storage, "branding/")
        assert len(named - orphans) == 2
        # when the sweep runs with all of them older than the grace period
        later = utcnow() + timedelta(hours=runtime.settings.storage_sweep_grace_hours, minutes=5)
        sweep = await sweep_orphaned_files(runtime, now=later)
        # then exactly the orphans are gone
        assert set(sweep.deleted) == orphans
        assert sweep.kept == 2
        remaining = await _keys(storage, "documents/") | await _keys(storage, "branding/")
        assert remaining == named - orphans
        assert await storage.exists("backups/nightly")
        # and the document still downloads, and the logo is still served
        response = await http.get(urlsplit(document["downloadUrl"]).path)
        assert response.status_code == 200
        assert response.content == pdf()
        served = await http.get(urlsplit(logo_url).path)
        assert served.status_code == 200
        assert served.content == png(2, 2)


async def test_a_fresh_orphan_is_kept_until_the_grace_period_ends(stored_runtime):
    # given a file stored a moment ago with no row yet (an upload in flight)
    storage = stored_runtime.storage
    key = f"documents/{uuid.uuid4().hex}/{uuid.uuid4().hex}"
    await storage.save(key, _once(b"in flight"))
    # when the sweep runs now, then just before the grace period ends
    grace = timedelta(hours=stored_runtime.settings.storage_sweep_grace_hours)
    for moment in (utcnow(), utcnow() + grace - timedelta(minutes=5)):
        sweep = await sweep_orphaned_files(stored_runtime, now=moment)
        # then the file stays
        assert sweep.deleted == []
        assert await storage.exists(key)
    # and once it is older than the grace period, it goes
    sweep = await sweep_orphaned_files(stored_runtime, now=utcnow() + grace + timedelta(minutes=5))
    assert sweep.deleted == [key]
    assert not await storage.exists(key)


async def test_unfinished_local_writes_are_forgotten(runtime, tmp_path):
    # given what a process killed mid-write left in the upload directory
    storage = LocalStorage(tmp_path / "files")
    await storage.save("documents/a/b", _once(b"whole"))
    partial = tmp_path / "files" / "documents" / "a" / "c.part-0123456789abcdef"
    partial.write_bytes(b"half")
    an_hour_ago = time.time() - 3600
    os.utime(partial, (an_hour_ago, an_hour_ago))
    local = dataclasses.replace(runtime, storage=storage)
    # when the sweep runs within the grace period, then after it
    assert (await sweep_orphaned_files(local, now=utcnow())).partials == 0
    assert partial.exists()
    later = utcnow() + timedelta(hours=runtime.settings.storage_sweep_grace_hours)
    sweep = await sweep_orphaned_files(local, now=later)
    # then the partial file is gone, and the listing never showed it as a file
    assert sweep.partials == 1
    assert not partial.exists()
    assert await _keys(storage, "documents/") == set()  # the whole file had no row either


async def test_unfinished_multipart_uploads_are_aborted(runtime, s3_storage, s3_server, s3_bucket):
    # given a multipart upload a killed process began and never finished
    async with s3_server.client() as s3:
        await s3.create_multipart_upload(Bucket=s3_bucket, Key="portico/documents/a/b")
    swept = dataclasses.replace(runtime, storage=s3_storage)
    # when the sweep runs after the grace period
    later = utcnow() + timedelta(hours=runtime.settings.storage_sweep_grace_hours, minutes=5)
    sweep = await sweep_orphaned_files(swept, now=later)
    # then the upload is aborted
    assert sweep.partials == 1
    async with s3_server.client() as s3:
        uploads = await s3.list_multipart_uploads(Bucket=s3_bucket)
    assert uploads.get("Uploads", []) == []


async def test_the_scheduler_sweeps_once_per_interval(runtime, tmp_path):
    # given an orphan older than the grace period, and the server's scheduler
    storage = LocalStorage(tmp_path / "files")
    swept = dataclasses.replace(runtime, storage=storage)
    scheduler = RecurringScheduler(swept)
    grace = timedelta(hours=runtime.settings.storage_sweep_grace_hours, minutes=5)
    first = utcnow() + grace
    await storage.save("documents/a/one", _once(b"x"))
    # when it runs, it sweeps
    assert (await scheduler.run_once(first)).orphaned_files == 1
    # and a minute later it does not look again, even with a new orphan
    await storage.save("documents/a/two", _once(b"x"))
    assert (await scheduler.run_once(first + timedelta(minutes=1))).orphaned_files == 0
    assert await storage.exists("documents/a/two")
    # until the interval has passed
    interval = timedelta(seconds=runtime.settings.storage_sweep_interval_seconds)
    assert (await scheduler.run_once(first + interval)).orphaned_files == 1
    assert not await storage.exists("documents/a/two")
