"""Documents: the files shared with the client, each downloaded through its signed link,
and the upload form where the visitor may upload (``uploadDocument`` in their schema)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import BOTH, Page, Portal, Tab, first_message
from server.portal_web.security import CSRF_FIELD


async def documents(portal: Portal, request: Request) -> Response:
    if request.method == "POST":
        return await upload(portal, request)
    variables: dict[str, Any] = {}
    if after := request.query_params.get("after"):
        variables["after"] = after
    return await portal.page(
        request, "documents", current="documents", variables=variables, error=None
    )


async def upload(portal: Portal, request: Request) -> Response:
    """The upload form's POST (multipart): CSRF checked, then ``uploadDocument``."""
    async with portal.runtime.sessions() as session:
        visit = await portal.visit(request, session)
        if isinstance(visit, Response):
            return visit
        async with request.form() as form:
            token = form.get(CSRF_FIELD)
            if not portal.csrf.check(token if isinstance(token, str) else None, visit.holder):
                return portal.forbidden()
            if not portal.documents.exists(visit.principal, "upload_document"):
                return portal.not_found()
            file = form.get("file")
            if not isinstance(file, UploadFile) or not file.filename:
                answer = None
            else:
                answer = await portal.run(
                    request,
                    session,
                    visit.principal,
                    "upload_document",
                    {"input": {"file": file}},
                )
        if answer is not None and "UNAUTHENTICATED" in answer.codes:
            return portal.signed_out(visit.slug, notice="signed-out")
        if answer is not None and answer.data is not None and not answer.failures:
            return portal.redirect(portal.url(visit.slug, "documents", notice="uploaded"))
        shown = await portal.run(request, session, visit.principal, "documents")
        if shown.data is None:
            return portal.not_found()
        message = "Choose a file to upload." if answer is None else first_message(answer)
        return await portal.render_page(
            visit, "documents.html", shown.data, current="documents", status_code=400, error=message
        )


ROUTES: list[Page] = [Page("/documents", documents, BOTH)]
TABS: list[Tab] = [Tab("Documents", "documents", "documents", order=100)]
