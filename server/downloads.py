"""``GET /downloads/{token}``: the PDF behind a signed download URL (``pdfUrl``), or
the uploaded file (``Document.downloadUrl``), streamed from storage as it was stored.

The token is the only credential (a browser follows the link without headers). A link
that is malformed, tampered with, signed for another purpose, or no longer allowed
answers 404; a genuine link past its lifetime answers 410. Neither says more.

Rendering a PDF (fpdf2) is CPU work: it runs in a worker thread, never on the event loop,
and at most ``pdf_render_concurrency`` at once (more downloads wait for a slot), so a
burst of downloads neither stalls other requests nor takes every worker thread.
"""

from __future__ import annotations

import anyio
import anyio.to_thread
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from services.downloads import (
    DownloadExpired,
    DownloadUnavailable,
    StoredDownload,
    content_disposition,
    open_download,
)
from services.runtime import Runtime

log = structlog.get_logger("portico.downloads")

NO_STORE = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _error(status_code: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status_code, headers=NO_STORE
    )


def pdf_render_limiter(runtime: Runtime) -> anyio.CapacityLimiter:
    """The slots for PDF rendering, shared by every download of one app."""
    return anyio.CapacityLimiter(runtime.settings.pdf_render_concurrency)


def download_route(runtime: Runtime, renders: anyio.CapacityLimiter) -> Route:
    async def download(request: Request) -> Response:
        token = str(request.path_params["token"])
        async with runtime.sessions() as session:
            try:
                document = await open_download(
                    session=session,
                    signer=runtime.signer,
                    settings=runtime.settings,
                    token=token,
                    storage=runtime.storage,
                )
            except DownloadExpired:
                log.info("download.refused", reason="expired")
                return _error(410, "EXPIRED", "This download link has expired. Ask for a new one.")
            except DownloadUnavailable:
                log.info("download.refused", reason="unavailable")
                return _error(404, "NOT_FOUND", "Not found.")
        if isinstance(document, StoredDownload):
            return await _stored(runtime, document)
        content = await anyio.to_thread.run_sync(document.render, limiter=renders)
        log.info("download.served", filename=document.filename, size=len(content))
        return Response(
            content,
            media_type="application/pdf",
            headers={
                **NO_STORE,
                "Content-Disposition": f'attachment; filename="{document.filename}"',
            },
        )

    return Route("/downloads/{token}", download, methods=["GET"])


async def _stored(runtime: Runtime, document: StoredDownload) -> Response:
    if not await runtime.storage.exists(document.storage_key):
        log.warning("download.file_missing", key=document.storage_key)
        return _error(404, "NOT_FOUND", "Not found.")
    log.info("download.served", filename=document.filename, size=document.size_bytes)
    return StreamingResponse(
        runtime.storage.stream(document.storage_key),
        media_type=document.content_type,
        headers={
            **NO_STORE,
            "Content-Length": str(document.size_bytes),
            "Content-Disposition": content_disposition(document.filename),
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
