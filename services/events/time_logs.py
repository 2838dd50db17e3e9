"""The events of time logs, one recorder each (:mod:`services.events`).

=====================  ==============================  =======================================
verb                   when                            details
=====================  ==============================  =======================================
``time_log.created``   staff log time                  ``project_id``, ``minutes``
``time_log.updated``   staff edit a log                ``changed`` (field names)
``time_log.deleted``   staff delete an unbilled log    ``project_id``, ``minutes``
``time_log.invoiced``  ``invoiceTimeLogs`` bills it     ``invoice_id``, ``minutes``
=====================  ==============================  =======================================

Shown to the client: nothing. A time log's client reads it (hours and description) where
the TIME_LOGS module is on, and the invoice that bills it has its own events; rates and
amounts are never in these details.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.activity import Verb
from models.invoices import Invoice
from models.projects import Project
from models.time_logs import TimeLog
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    log: TimeLog,
    project: Project,
    actor: StaffPrincipal,
    details: dict[str, Any],
) -> None:
    activity.record(
        session,
        account_id=log.account_id,
        actor=actor,
        verb=verb,
        subject_id=log.id,
        client_id=project.client_id,
        details=details,
        visible_to_client=False,
    )


def created(session: AsyncSession, log: TimeLog, project: Project, actor: StaffPrincipal) -> None:
    _record(
        session,
        Verb.TIME_LOG_CREATED,
        log,
        project,
        actor,
        {"project_id": str(project.id), "minutes": log.minutes},
    )


def updated(
    session: AsyncSession,
    log: TimeLog,
    project: Project,
    actor: StaffPrincipal,
    *,
    changed: Iterable[str],
) -> None:
    _record(session, Verb.TIME_LOG_UPDATED, log, project, actor, {"changed": sorted(changed)})


def deleted(session: AsyncSession, log: TimeLog, project: Project, actor: StaffPrincipal) -> None:
    _record(
        session,
        Verb.TIME_LOG_DELETED,
        log,
        project,
        actor,
        {"project_id": str(project.id), "minutes": log.minutes},
    )


def invoiced(
    session: AsyncSession,
    log: TimeLog,
    project: Project,
    actor: StaffPrincipal,
    *,
    invoice: Invoice,
) -> None:
    _record(
        session,
        Verb.TIME_LOG_INVOICED,
        log,
        project,
        actor,
        {"invoice_id": str(invoice.id), "minutes": log.minutes},
    )
