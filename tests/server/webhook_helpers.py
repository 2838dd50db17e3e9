"""A partner's receiving end (a real HTTP server in a thread) and the GraphQL steps the
webhook tests share."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlmodel import col, select

from models.webhooks import WebhookDelivery
from services.config import Settings
from services.runtime import Runtime
from tests.conftest import SECRET

PARTNER_SCOPES = ["events:subscribe", "invoices:read"]
WEBHOOK_QUERY = """
subscription {
  invoiceChanged {
    cursor kind occurredAt
    invoice { id number status total client { id name } }
  }
}
"""
CREATE_TOKEN = """
mutation($name: String!, $scopes: [String!]!) {
  createApiToken(name: $name, scopes: $scopes) { token apiClient { id } }
}
"""
CREATE_WEBHOOK = """
mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) {
    secret
    webhook { id url query enabled clientId disabledReason apiClient { id name } }
  }
}
"""
UPDATE_WEBHOOK = """
mutation($id: ID!, $input: UpdateWebhookInput!) {
  updateWebhook(id: $id, input: $input) { id url enabled disabledAt disabledReason }
}
"""
WEBHOOKS = "query { webhooks { id url enabled disabledReason } }"
DELIVERIES = """
query($id: ID!, $first: Int, $after: String) {
  webhookDeliveries(webhookId: $id, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id eventId kind cursor status body nextAttemptAt createdAt
      attempts { attemptedAt succeeded statusCode durationMs error nextRetryAt }
    }
  }
}
"""
REDELIVER = "mutation($id: ID!) { redeliverWebhook(id: $id) { id status nextAttemptAt } }"
DELETE_WEBHOOK = "mutation($id: ID!) { deleteWebhook(id: $id) { id } }"


def webhook_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for webhook tests: a receiver on 127.0.0.1 allowed, no scheduler."""
    fields: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "secret_key": SECRET,
        "public_base_url": "http://portal.test",
        "scheduler_enabled": False,
        "webhook_allow_private": True,  # the receiver listens on 127.0.0.1
        **overrides,
    }
    return Settings(**fields)


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An HTTP endpoint on 127.0.0.1 answering the statuses it is given in turn (then
    200), recording every request."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses: deque[int] = deque(statuses or [])
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(Received(dict(self.headers.items()), body))
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a partner does: recompute the signature over the raw body, compare in
    constant time, refuse a stale timestamp."""
    items = [item.split("=", 1) for item in header.split(",")]
    timestamp = int(next(value for key, value in items if key == "t"))
    signatures = [value for key, value in items if key == "v1"]  # two while a secret rolls
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    return any(matches) and abs(time.time() - timestamp) <= tolerance


async def partner_token(gql: Any, admin: str, scopes: list[str] | None = None) -> dict[str, str]:
    data = await gql.data(
        CREATE_TOKEN, {"name": "Partner", "scopes": scopes or PARTNER_SCOPES}, token=admin
    )
    return {
        "token": data["createApiToken"]["token"],
        "id": data["createApiToken"]["apiClient"]["id"],
    }


async def create_webhook(gql: Any, admin: str, token_id: str, url: str, **fields: Any) -> Any:
    variables = {"input": {"apiTokenId": token_id, "url": url, "query": WEBHOOK_QUERY, **fields}}
    return await gql(CREATE_WEBHOOK, variables, token=admin)


async def deliveries(runtime: Runtime) -> list[WebhookDelivery]:
    async with runtime.sessions() as session:
        rows = await session.exec(
            select(WebhookDelivery).order_by(
                col(WebhookDelivery.webhook_id), col(WebhookDelivery.sequence)
            )
        )
        return list(rows.all())
