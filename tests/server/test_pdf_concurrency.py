"""PDF rendering runs in worker threads, at most ``pdf_render_concurrency`` at once
(issue 9): a burst of downloads queues for the slots while other requests are served."""

from __future__ import annotations

import asyncio
import time

import anyio
import httpx

from server.app import create_app
from services import downloads as downloads_service
from services.pdf.invoice import render_invoice as real_render
from tests.server.limit_helpers import with_settings
from tests.server.test_downloads import path_of, pdf_url_of, portal_client, sent_invoice, text_of


async def test_downloads_render_at_most_n_at_once_and_others_are_served(
    gql, runtime, tenant, monkeypatch
):
    # each render takes a while (as a large PDF does), so the burst surely overlaps
    def slow_render(invoice_pdf):
        time.sleep(0.05)
        return real_render(invoice_pdf)

    monkeypatch.setattr(downloads_service, "render_invoice", slow_render)
    portal, _ = await portal_client(gql, runtime, tenant, "Acme Corp")
    invoice = await sent_invoice(gql, tenant.admin, portal["id"])
    path = path_of(await pdf_url_of(gql, tenant.admin, invoice["id"]))
    app = create_app(runtime=with_settings(runtime, pdf_render_concurrency=1))
    renders: anyio.CapacityLimiter = app.state.pdf_renders
    busiest = waiting = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal busiest, waiting
        while not done.is_set():
            statistics = renders.statistics()
            busiest = max(busiest, statistics.borrowed_tokens)
            waiting = max(waiting, statistics.tasks_waiting)
            await asyncio.sleep(0)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        watcher = asyncio.create_task(watch())
        downloads = [asyncio.create_task(client.get(path)) for _ in range(6)]
        health = await client.get("/healthz")  # served while the PDFs render
        responses = await asyncio.gather(*downloads)
        done.set()
        await watcher
    assert health.status_code == 200
    for response in responses:
        assert response.status_code == 200
        assert invoice["number"] in text_of(response.content)
    assert busiest == 1
    assert waiting >= 1  # the others queued for the one slot
