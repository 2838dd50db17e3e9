"""An S3-compatible server as a real process for the tests: moto in server mode
(``python -m moto.server``), spoken to over HTTP by aiobotocore like a real bucket.

``s3_server`` (session-scoped, per test worker) starts it; ``s3_storage`` gives a test
an :class:`~services.storage.s3.S3Storage` on a bucket of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from aiobotocore.session import get_session

from services.storage.s3 import S3Storage
from tests.smtp_server import free_port

ACCESS_KEY = "portico-test"
SECRET_KEY = "portico-test-secret"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    url: str

    def client(self):
        return get_session().create_client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/moto-api/", timeout=1).status_code:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "moto exited"
            assert time.monotonic() < deadline, "moto did not start"
            time.sleep(0.1)
        yield S3Server(url)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def s3_bucket(s3_server: S3Server) -> str:
    bucket = f"portico-{uuid.uuid4().hex[:12]}"
    async with s3_server.client() as s3:
        await s3.create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def s3_storage(s3_server: S3Server, s3_bucket: str) -> S3Storage:
    return S3Storage(
        bucket=s3_bucket,
        endpoint_url=s3_server.url,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        prefix="portico/",
    )
