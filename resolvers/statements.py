"""Statements: GraphQL arguments -> service call -> the statement."""

from __future__ import annotations

from datetime import date

from resolvers.common import caller, parse_optional_id
from resolvers.context import Info
from services import statements
from services.downloads import DownloadKind, download_url


async def statement(
    info: Info,
    *,
    date_from: date,
    date_to: date,
    status: statements.StatementStatus,
    client_id: str | None,
    currency: str | None,
) -> statements.Statement:
    return await statements.build_statement(
        session=info.context.session,
        principal=caller(info),
        date_from=date_from,
        date_to=date_to,
        status=status,
        client_id=parse_optional_id(client_id, field="clientId"),
        currency=currency,
    )


def statement_pdf_url(info: Info, statement: statements.Statement) -> str:
    runtime = info.context.runtime
    return download_url(
        signer=runtime.signer,
        settings=runtime.settings,
        principal=caller(info),
        kind=DownloadKind.STATEMENT,
        statement=statement.request,
    )
