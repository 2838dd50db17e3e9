# ruff: noqa: S608 - the SQL is assembled from constant fragments; values are parameters
"""The floor of ``python -m bench hot_path``: the bench's three requests answered by hand.

A raw ASGI app that knows exactly three GraphQL documents (by their text, like a
persisted query) and answers each with hand-written SQL through the driver itself
(aiosqlite, asyncpg) and ``orjson``, in the JSON shape Portico answers. It still does
what a minimal hand-written app must: it verifies the bearer token's signature
(itsdangerous, like Portico's session tokens) and reads the live session with its holder
in one indexed lookup, and it reads the same rows Portico reads (the page, its total,
the lines and clients of the page; each dashboard part). What it skips is everything
generic: parsing, validation, permissions as a schema, per-field resolvers, ORM rows.

Run by uvicorn as ``bench.floor:create_floor`` (a factory) with ``BENCH_FLOOR_DATABASE``
(a SQLAlchemy URL: ``sqlite+aiosqlite:///…`` or ``postgresql+asyncpg://…``) and
``BENCH_FLOOR_SECRET`` (the secret Portico signs sessions with) in the environment.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_SALT = "portico.session"
SESSION_MAX_AGE = 14 * 24 * 3600
SCALE = Decimal(1).scaleb(-4)
PRECISION = {"USD": Decimal("0.01"), "EUR": Decimal("0.01"), "GBP": Decimal("0.01")}
OPEN = ("SENT", "VIEWED", "PARTIAL")
SETTLED = ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED", "DISPUTED")

INVOICES = (
    "{ invoices(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { "
    "id number status currency issueDate dueDate total balance client { id name } "
    "lines { description quantity unitPrice total } } } }"
)
DASHBOARD = (
    "{ dashboard { today client { name company avatarUrl } "
    "outstanding { currency amount count } overdue { currency amount count } "
    "receivedThisMonth { currency amount count } "
    "openInvoices(first: 20) { totalCount nodes { id number status dueDate total balance "
    "currency isOverdue } } "
    "recentPayments(first: 10) { totalCount nodes { id amount currency receivedOn } } "
    "openQuotes(first: 5) { totalCount nodes { id number kind title total currency "
    "validUntil } } } }"
)
VIEWER = "{ viewer { __typename } }"

Row = Sequence[Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


_CONNECTION: contextvars.ContextVar[Any] = contextvars.ContextVar("floor_connection")


class Unauthenticated(Exception):
    pass


class Database:
    """Hand-written SQL with ``$n`` parameters on either driver; counts its statements."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        self.statements = 0
        self._pool: Any = None
        self._connection: Any = None

    async def open(self) -> None:
        if self.sqlite:
            import aiosqlite

            path = self.url.split("///", 1)[1]
            self._connection = await aiosqlite.connect(path)
            await self._connection.execute("PRAGMA query_only = 1")
        else:
            import asyncpg  # type: ignore[import-untyped]

            dsn = self.url.replace("postgresql+asyncpg://", "postgresql://")
            self._pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        if self._pool is not None:
            await self._pool.close()

    @contextlib.asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        """One pooled connection for the whole request (PostgreSQL; SQLite has one)."""
        if self.sqlite:
            yield
            return
        async with self._pool.acquire() as connection:
            token = _CONNECTION.set(connection)
            try:
                yield
            finally:
                _CONNECTION.reset(token)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        self.statements += 1
        if self.sqlite:
            async with self._connection.execute(re.sub(r"\$(\d+)", r"?\1", sql), args) as rows:
                return list(await rows.fetchall())
        return list(await _CONNECTION.get().fetch(sql, *args))

    # values as each driver stores them (SQLite: SQLAlchemy's text forms)

    def id(self, value: uuid.UUID) -> Any:
        return value.hex if self.sqlite else value

    def moment(self, value: datetime) -> Any:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else value

    def day(self, value: date) -> Any:
        return value.isoformat() if self.sqlite else value

    def in_list(self, column: str, values: list[Any], first: int) -> tuple[str, list[Any]]:
        if self.sqlite:
            marks = ", ".join(f"${first + n}" for n in range(len(values)))
            return f"{column} IN ({marks})", values
        return f"{column} = ANY(${first})", [values]


def _uuid(value: Any) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(hex=value))


def _moment(value: Any) -> datetime:
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


def _exact(value: int) -> Decimal:
    return (Decimal(int(value)) * SCALE).quantize(SCALE)


def _money(value: int, currency: str) -> str:
    return str(_exact(value).quantize(PRECISION[currency], rounding=ROUND_HALF_UP))


def _cursor(created_at: Any, row_id: Any) -> str:
    raw = f"{_moment(created_at).isoformat()}|{uuid.UUID(_uuid(row_id)).hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Floor:
    def __init__(self, url: str, secret: str) -> None:
        self.db = Database(url)
        self.signer = URLSafeTimedSerializer(secret, salt=SESSION_SALT)
        self.handlers: dict[str, Callable[[tuple[Any, ...]], Awaitable[dict[str, Any]]]] = {
            INVOICES: self.invoices,
            DASHBOARD: self.dashboard,
            VIEWER: self.viewer,
        }

    async def authenticate(self, header: str) -> tuple[Any, ...]:
        """(kind, account_id, holder id, client_id) of a live session: one indexed lookup."""
        token = header.removeprefix("Bearer ").strip()
        try:
            session_id = uuid.UUID(hex=str(self.signer.loads(token, max_age=SESSION_MAX_AGE)))
        except (BadSignature, ValueError) as error:
            raise Unauthenticated from error
        db = self.db
        rows = await db.fetch(
            "SELECT s.kind, s.account_id, s.staff_user_id, c.id, c.client_id, c.role "
            "FROM auth_session s "
            "LEFT JOIN staff_user u ON u.id = s.staff_user_id "
            "LEFT JOIN contact c ON c.id = s.contact_id "
            "LEFT JOIN client k ON k.id = c.client_id "
            "LEFT JOIN account a ON a.id = s.account_id "
            "WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND ("
            "(s.kind = 'STAFF' AND u.is_active) OR (s.kind = 'CONTACT' AND a.portal_enabled "
            "AND k.portal_enabled AND k.archived_at IS NULL))",
            db.id(session_id),
            db.moment(datetime.now(UTC)),
        )
        if not rows:
            raise Unauthenticated
        return tuple(rows[0])

    async def viewer(self, principal: tuple[Any, ...]) -> dict[str, Any]:
        return {"viewer": {"__typename": "StaffUser" if principal[0] == "STAFF" else "Contact"}}

    async def invoices(self, principal: tuple[Any, ...]) -> dict[str, Any]:
        db, account = self.db, principal[1]
        total = (await db.fetch("SELECT count(*) FROM invoice WHERE account_id = $1", account))[0]
        rows = await db.fetch(
            "SELECT id, number, status, currency, issue_date, due_date, total, amount_paid, "
            "credits_applied, client_id, created_at FROM invoice WHERE account_id = $1 "
            "ORDER BY created_at DESC, id DESC LIMIT 101",
            account,
        )
        page = rows[:100]
        invoice_ids = [row[0] for row in page]
        where, args = db.in_list("invoice_id", invoice_ids, 2)
        lines: dict[Any, list[dict[str, Any]]] = {key: [] for key in invoice_ids}
        currency_of = {row[0]: row[3] for row in page}
        for invoice_id, description, quantity, unit_price, line_total in await db.fetch(
            "SELECT invoice_id, description, quantity, unit_price, line_total FROM invoice_line "
            f"WHERE account_id = $1 AND {where} ORDER BY invoice_id, position",
            account,
            *args,
        ):
            currency = currency_of[invoice_id]
            lines[invoice_id].append(
                {
                    "description": description,
                    "quantity": str(_exact(quantity)),
                    "unitPrice": _money(unit_price, currency),
                    "total": _money(line_total, currency),
                }
            )
        client_ids = list({row[9] for row in page})
        where, args = db.in_list("id", client_ids, 2)
        clients = {
            key: {"id": _uuid(key), "name": name}
            for key, name in await db.fetch(
                f"SELECT id, name FROM client WHERE account_id = $1 AND {where}", account, *args
            )
        }
        nodes = []
        for row in page:
            status, currency = row[2], row[3]
            balance = 0 if status == "VOID" else row[6] - row[7] - row[8]
            nodes.append(
                {
                    "id": _uuid(row[0]),
                    "number": row[1],
                    "status": status,
                    "currency": currency,
                    "issueDate": _day(row[4]),
                    "dueDate": _day(row[5]),
                    "total": _money(row[6], currency),
                    "balance": _money(balance, currency),
                    "client": clients[row[9]],
                    "lines": lines[row[0]],
                }
            )
        end = _cursor(page[-1][10], page[-1][0]) if page else None
        return {
            "invoices": {
                "totalCount": total[0],
                "pageInfo": {"hasNextPage": len(rows) > 100, "endCursor": end},
                "nodes": nodes,
            }
        }

    async def dashboard(self, principal: tuple[Any, ...]) -> dict[str, Any]:
        db, account, client = self.db, principal[1], principal[4]
        today = datetime.now(UTC).date()
        scope = "account_id = $1 AND client_id = $2"
        visible = f"{scope} AND status NOT IN ('DRAFT', 'VOID')"
        open_ = (
            f"{visible} AND status IN ('SENT', 'VIEWED', 'PARTIAL') "
            "AND total - (amount_paid + credits_applied) > 0"
        )
        late = (
            "((due_date IS NOT NULL AND due_date < $3) OR (deposit_amount IS NOT NULL AND "
            "deposit_due_date IS NOT NULL AND deposit_due_date < $3 AND "
            "amount_paid + credits_applied < deposit_amount))"
        )
        settled = "status IN ('COMPLETED', 'PARTIALLY_REFUNDED', 'REFUNDED', 'DISPUTED')"
        day = db.day(today)
        head = await db.fetch(
            "SELECT name, company, avatar_url FROM client WHERE id = $2 AND account_id = $1",
            account,
            client,
        )

        def totals(rows: list[Row]) -> list[dict[str, Any]]:
            return [
                {"currency": currency, "amount": _money(amount or 0, currency), "count": count}
                for currency, count, amount in sorted(rows, key=lambda row: str(row[0]))
                if count
            ]

        owed = "sum(total - (amount_paid + credits_applied))"
        outstanding = await db.fetch(
            f"SELECT currency, count(id), {owed} FROM invoice WHERE {open_} GROUP BY currency",
            account,
            client,
        )
        overdue = await db.fetch(
            f"SELECT currency, count(id), {owed} FROM invoice WHERE {open_} AND {late} "
            "GROUP BY currency",
            account,
            client,
            day,
        )
        received = await db.fetch(
            "SELECT currency, count(id), sum(amount - refunded_amount) FROM payment "
            f"WHERE {scope} AND {settled} AND received_on >= $3 AND received_on <= $4 "
            "GROUP BY currency",
            account,
            client,
            db.day(today.replace(day=1)),
            day,
        )
        order = "ORDER BY created_at DESC, id DESC"
        open_count = await db.fetch(f"SELECT count(*) FROM invoice WHERE {open_}", account, client)
        open_rows = await db.fetch(
            "SELECT id, number, status, due_date, total, amount_paid, credits_applied, currency, "
            f"deposit_amount, deposit_due_date FROM invoice WHERE {open_} {order} LIMIT 21",
            account,
            client,
        )
        paid_count = await db.fetch(
            f"SELECT count(*) FROM payment WHERE {scope} AND {settled}", account, client
        )
        paid_rows = await db.fetch(
            "SELECT id, amount, currency, received_on FROM payment "
            f"WHERE {scope} AND {settled} {order} LIMIT 11",
            account,
            client,
        )
        quotes = (
            f"{scope} AND status NOT IN ('DRAFT') AND status IN ('SENT', 'VIEWED') "
            "AND (valid_until IS NULL OR valid_until >= $3)"
        )
        quote_count = await db.fetch(
            f"SELECT count(*) FROM quote WHERE {quotes}", account, client, day
        )
        quote_rows = await db.fetch(
            "SELECT id, number, kind, title, total, currency, valid_until FROM quote "
            f"WHERE {quotes} {order} LIMIT 6",
            account,
            client,
            day,
        )
        name, company, avatar = head[0]
        return {
            "dashboard": {
                "today": today.isoformat(),
                "client": {"name": name, "company": company, "avatarUrl": avatar},
                "outstanding": totals(outstanding),
                "overdue": totals(overdue),
                "receivedThisMonth": totals(received),
                "openInvoices": {
                    "totalCount": open_count[0][0],
                    "nodes": [_open_invoice(row, today) for row in open_rows[:20]],
                },
                "recentPayments": {
                    "totalCount": paid_count[0][0],
                    "nodes": [
                        {
                            "id": _uuid(key),
                            "amount": _money(amount, currency),
                            "currency": currency,
                            "receivedOn": _day(received_on),
                        }
                        for key, amount, currency, received_on in paid_rows[:10]
                    ],
                },
                "openQuotes": {
                    "totalCount": quote_count[0][0],
                    "nodes": [
                        {
                            "id": _uuid(key),
                            "number": number,
                            "kind": kind,
                            "title": title,
                            "total": _money(total, currency),
                            "currency": currency,
                            "validUntil": _day(valid_until),
                        }
                        for key, number, kind, title, total, currency, valid_until in quote_rows[:5]
                    ],
                },
            }
        }

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.db.open()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.db.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/healthz":
            await _respond(send, 200, b'{"status":"ok"}')
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        handler = self.handlers.get(orjson.loads(body).get("query", "")) if body else None
        if handler is None:
            await _respond(send, 400, b'{"errors":[{"message":"unknown document"}]}')
            return
        async with self.db.request():
            try:
                principal = await self.authenticate(headers.get(b"authorization", b"").decode())
            except Unauthenticated:
                body = b'{"errors":[{"message":"Invalid or expired token."}]}'
                await _respond(send, 401, body)
                return
            data = await handler(principal)
        await _respond(send, 200, orjson.dumps({"data": data}))


def _open_invoice(row: Row, today: date) -> dict[str, Any]:
    key, number, status, due, total, paid, credits, currency, deposit, deposit_due = row
    applied = paid + credits
    balance = total - applied
    due_day = date.fromisoformat(due) if isinstance(due, str) else due
    deposit_day = date.fromisoformat(deposit_due) if isinstance(deposit_due, str) else deposit_due
    late = (due_day is not None and due_day < today) or (
        deposit is not None
        and deposit_day is not None
        and deposit_day < today
        and bool(deposit)
        and applied < deposit
    )
    return {
        "id": _uuid(key),
        "number": number,
        "status": status,
        "dueDate": _day(due),
        "total": _money(total, currency),
        "balance": _money(balance, currency),
        "currency": currency,
        "isOverdue": status in OPEN and balance > 0 and late,
    }


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_floor() -> Floor:
    """The floor app for uvicorn (``--factory``), configured from the environment."""
    return Floor(os.environ["BENCH_FLOOR_DATABASE"], os.environ["BENCH_FLOOR_SECRET"])
