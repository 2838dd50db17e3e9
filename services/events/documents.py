"""The events of a document's life, one recorder each (:mod:`services.events`).

=====================  ===============================  ==================================
verb                   when                             details
=====================  ===============================  ==================================
``document.uploaded``  staff or a contact upload a      ``filename``, ``content_type``,
                       file                             ``size_bytes``, ``by_client``
``document.updated``   staff rename it or change its    ``changed`` (the fields given,
                       portal visibility                sorted)
``document.deleted``   staff delete it (and its file)   ``filename``
=====================  ===============================  ==================================

Shown to the client: the events of documents its contacts can see (shared in the portal
or uploaded by the client), as the document is after the change; a document's events
never reach the outbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import AuthenticatedPrincipal
from models.activity import Verb
from models.documents import Document
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    document: Document,
    actor: AuthenticatedPrincipal,
    details: dict[str, Any],
) -> None:
    activity.record(
        session,
        account_id=document.account_id,
        actor=actor,
        verb=verb,
        subject_id=document.id,
        client_id=document.client_id,
        details=details,
        visible_to_client=document.visible_in_portal or document.uploaded_by_client,
    )


def uploaded(session: AsyncSession, document: Document, actor: AuthenticatedPrincipal) -> None:
    _record(
        session,
        Verb.DOCUMENT_UPLOADED,
        document,
        actor,
        {
            "filename": document.filename,
            "content_type": document.content_type,
            "size_bytes": document.size_bytes,
            "by_client": document.uploaded_by_client,
        },
    )


def updated(
    session: AsyncSession,
    document: Document,
    actor: AuthenticatedPrincipal,
    *,
    changed: Iterable[str],
) -> None:
    _record(session, Verb.DOCUMENT_UPDATED, document, actor, {"changed": sorted(changed)})


def deleted(session: AsyncSession, document: Document, actor: AuthenticatedPrincipal) -> None:
    _record(session, Verb.DOCUMENT_DELETED, document, actor, {"filename": document.filename})
