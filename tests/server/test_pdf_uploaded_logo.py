"""The logo an admin uploads in the portal settings is drawn on the invoice, quote and
statement PDFs a contact downloads (PNG, JPEG and WebP, from local storage or an S3
bucket); a logo gone from storage leaves the account's name in its place, never a failed
download."""

from __future__ import annotations

import dataclasses
import io
from urllib.parse import urlsplit

import pytest
from PIL import Image
from pypdf import PdfReader

from tests.portal.test_portal_settings import upload_image
from tests.server.limit_helpers import http_client
from tests.server.test_downloads import (
    INVOICE,
    STATEMENT,
    TODAY,
    portal_client,
    sent_invoice,
)


def image(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(buffer, format=kind)
    return buffer.getvalue()


def images_in(content: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(content)).pages)


def text_in(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture(params=["local", "s3"])
def stored_runtime(request, runtime):
    if request.param == "local":
        return runtime
    return dataclasses.replace(runtime, storage=request.getfixturevalue("s3_storage"))


async def _download(http, url: str) -> bytes:
    response = await http.get(urlsplit(url).path)
    assert response.status_code == 200, response.text
    content: bytes = response.content
    assert content.startswith(b"%PDF")
    return content


@pytest.mark.parametrize(
    ("kind", "media_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
async def test_an_uploaded_logo_is_drawn_on_the_pdfs(stored_runtime, gql, tenant, kind, media_type):
    runtime = stored_runtime
    async with http_client(runtime) as http:
        # given an account that uploaded its logo, and a contact with a sent invoice
        logo = await upload_image(
            http, tenant.admin, "logo", (f"logo.{kind.lower()}", image(kind), media_type)
        )
        assert logo["data"]["updateAccountSettings"]["logoUrl"], logo
        acme, tokens = await portal_client(gql, runtime, tenant, "Acme Corp")
        invoice = await sent_invoice(gql, tenant.admin, acme["id"])
        contact = tokens["BILLING"]
        # when the contact downloads the invoice and a statement
        found = await gql.data(INVOICE, {"id": invoice["id"]}, token=contact)
        invoice_pdf = await _download(http, found["invoice"]["pdfUrl"])
        period = {"from": TODAY.replace(day=1).isoformat(), "to": TODAY.isoformat()}
        statement = await gql.data(STATEMENT, period, token=contact)
        statement_pdf = await _download(http, statement["statement"]["pdfUrl"])
    # then both carry the logo
    assert images_in(invoice_pdf) == 1
    assert images_in(statement_pdf) == 1


async def test_a_logo_missing_from_storage_leaves_the_name(runtime, gql, tenant):
    async with http_client(runtime) as http:
        # given an uploaded logo whose file has since gone from storage
        logo = await upload_image(
            http, tenant.admin, "logo", ("logo.png", image("PNG"), "image/png")
        )
        key = urlsplit(logo["data"]["updateAccountSettings"]["logoUrl"]).path.lstrip("/")
        await runtime.storage.delete(key)
        acme, tokens = await portal_client(gql, runtime, tenant, "Smith Corp")
        invoice = await sent_invoice(gql, tenant.admin, acme["id"])
        # when the contact downloads the invoice
        found = await gql.data(INVOICE, {"id": invoice["id"]}, token=tokens["BILLING"])
        content = await _download(http, found["invoice"]["pdfUrl"])
    # then it is served, with the account's name in the band instead
    assert images_in(content) == 0
    assert "Acme" in text_in(content)  # the account's name; the client is Smith Corp
