"""Time logs: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

from models.time_logs import TimeLog
from resolvers.common import caller
from resolvers.context import Info
from services import time_logs
from services.pagination import Page


async def list_time_logs(
    info: Info, *, first: int | None, after: str | None, filters: time_logs.TimeLogFilter
) -> Page[TimeLog]:
    return await time_logs.list_time_logs(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )
