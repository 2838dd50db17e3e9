"""services.constant_in.one_of and none_of: ``IN`` and ``NOT IN`` a fixed set, each
value bound on its own, so the statement SQLAlchemy cached is sent as it is (no
per-execution rendering of an expanding parameter), and they select what ``in_`` and
``not_in`` select on both databases."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from models.enums import InvoiceStatus
from models.invoices import Invoice
from services.constant_in import none_of, one_of
from services.invoices import OPEN_STATUSES


def test_each_value_is_a_bound_parameter_of_its_own() -> None:
    statement = select(col(Invoice.id)).where(one_of(col(Invoice.status), OPEN_STATUSES))
    compiled = statement.compile()
    assert "POSTCOMPILE" not in str(compiled)
    assert sorted(compiled.params.values()) == sorted(OPEN_STATUSES)
    with pytest.raises(ValueError, match="at least one"):
        one_of(col(Invoice.status), [])
    hidden = (InvoiceStatus.DRAFT, InvoiceStatus.VOID)
    compiled = select(col(Invoice.id)).where(none_of(col(Invoice.status), hidden)).compile()
    assert "POSTCOMPILE" not in str(compiled)
    assert "NOT IN" in str(compiled)
    assert sorted(compiled.params.values()) == sorted(hidden)
    with pytest.raises(ValueError, match="at least one"):
        none_of(col(Invoice.status), [])


async def test_it_selects_what_in_selects(runtime, gql, tenant) -> None:
    from tests.schema.test_invoices import create_client, create_invoice, send_invoice

    client = await create_client(gql, tenant.admin)
    draft = await create_invoice(gql, tenant.admin, client["id"])
    sent = await send_invoice(
        gql, tenant.admin, (await create_invoice(gql, tenant.admin, client["id"]))["id"]
    )
    async with runtime.sessions() as session:
        found = set(
            (
                await session.exec(
                    select(col(Invoice.id)).where(one_of(col(Invoice.status), OPEN_STATUSES))
                )
            ).all()
        )
        stock = set(
            (
                await session.exec(
                    select(col(Invoice.id)).where(col(Invoice.status).in_(OPEN_STATUSES))
                )
            ).all()
        )
        drafts = set(
            (
                await session.exec(
                    select(col(Invoice.id)).where(
                        one_of(col(Invoice.status), [InvoiceStatus.DRAFT])
                    )
                )
            ).all()
        )
        not_drafts = set(
            (
                await session.exec(
                    select(col(Invoice.id)).where(
                        none_of(col(Invoice.status), [InvoiceStatus.DRAFT])
                    )
                )
            ).all()
        )
    assert found == stock
    assert {str(one) for one in not_drafts} == {sent["id"]}
    assert {str(one) for one in found} == {sent["id"]}
    assert {str(one) for one in drafts} == {draft["id"]}
