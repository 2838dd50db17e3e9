"""Partner webhook endpoints: GraphQL arguments -> :mod:`services.webhooks.endpoints`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from models.webhooks import Webhook, WebhookAttempt, WebhookDelivery
from resolvers.common import atomic, parse_id, staff
from resolvers.context import Info
from services.pagination import Edge, Page
from services.webhooks import endpoints
from services.webhooks.endpoints import QueryChecker


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A delivery with its attempts (read for a whole page at once)."""

    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


async def create_webhook(
    info: Info,
    *,
    api_token_id: str,
    url: str,
    query: str,
    secret: str | None,
    check_query: QueryChecker,
) -> tuple[Webhook, str]:
    actor = staff(info)
    token_id = parse_id(api_token_id, field="apiTokenId")
    async with atomic(info) as work:
        return await endpoints.create_webhook(
            work=work,
            actor=actor,
            api_token_id=token_id,
            url=url,
            query=query,
            secret=secret,
            check_query=check_query,
        )


async def update_webhook(
    info: Info,
    id: str,
    *,
    url: str | None,
    query: str | None,
    enabled: bool | None,
    check_query: QueryChecker,
) -> Webhook:
    actor = staff(info)
    webhook_id = parse_id(id)
    async with atomic(info) as work:
        return await endpoints.update_webhook(
            work=work,
            actor=actor,
            webhook_id=webhook_id,
            url=url,
            query=query,
            enabled=enabled,
            check_query=check_query,
        )


async def rotate_webhook_secret(
    info: Info, id: str, *, secret: str | None, expire_current_in_hours: int
) -> tuple[Webhook, str]:
    actor = staff(info)
    webhook_id = parse_id(id)
    async with atomic(info) as work:
        return await endpoints.rotate_webhook_secret(
            work=work,
            actor=actor,
            webhook_id=webhook_id,
            secret=secret,
            keep_current_for=timedelta(hours=expire_current_in_hours),
        )


async def delete_webhook(info: Info, id: str) -> Webhook:
    actor = staff(info)
    webhook_id = parse_id(id)
    async with atomic(info) as work:
        return await endpoints.delete_webhook(
            session=work.session, actor=actor, webhook_id=webhook_id
        )


async def webhook_list(info: Info) -> list[Webhook]:
    return await endpoints.list_webhooks(session=info.context.session, actor=staff(info))


async def webhook_deliveries(
    info: Info, webhook_id: str, first: int | None, after: str | None
) -> Page[DeliveryView]:
    session = info.context.session
    page = await endpoints.list_deliveries(
        session=session,
        actor=staff(info),
        webhook_id=parse_id(webhook_id, field="webhookId"),
        first=first,
        after=after,
    )
    attempts = await endpoints.attempts_of(session, [row.id for row in page.nodes])
    return Page(
        edges=[
            Edge(edge.cursor, DeliveryView(edge.node, attempts[edge.node.id]))
            for edge in page.edges
        ],
        page_info=page.page_info,
        total_count=page.total_count,
    )


async def redeliver_webhook(info: Info, id: str) -> DeliveryView:
    actor = staff(info)
    delivery_id = parse_id(id)
    async with atomic(info) as work:
        delivery = await endpoints.redeliver(
            session=work.session, actor=actor, delivery_id=delivery_id
        )
        attempts = await endpoints.attempts_of(work.session, [delivery.id])
    return DeliveryView(delivery, attempts[delivery.id])
