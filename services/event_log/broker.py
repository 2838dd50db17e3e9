"""One broker per process: it runs the relay, tells the other instances, and hands each
new event to this instance's listeners once.

Flow of an event: an action writes it to the outbox in its transaction; the unit of work,
after commit, kicks the broker (:func:`kick_after_commit`); the broker's relay numbers
what is committed (:mod:`.sequencing`) and announces "account A reached sequence N" —
in-process, and on Redis (``PORTICO_REDIS_URL``) to every other instance. Each instance
then reads the account's new events *once* from the database, in sequence order, and
pushes the same :class:`DeliveredEvent` to each of its listeners of that account.

Nothing relies on an announcement arriving: every ``event_poll_seconds`` the relay runs
again (an event whose kick was lost to a crash gets numbered) and the broker compares
its listeners' accounts with the database, so a lost Redis message delays an event by at
most that interval, never drops it. A listener keeps the last sequence it passed on and
fills any gap from the database (:meth:`Listener.events`), so it never skips an event and
never repeats one — also when it resumes from a cursor, or falls behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

import orjson
import structlog
from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.events import EventStream
from services.event_log.delivered import DeliveredEvent
from services.event_log.reading import events_after, last_sequence
from services.event_log.retention import prune_events
from services.event_log.sequencing import sequence_committed
from services.event_log.streams import Deliverer, Stream, catch_up
from services.unit_of_work import after_commit, transaction

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from services.config import Settings
    from services.runtime import Runtime

log = structlog.get_logger("portico.events")

CHANNEL = "portico:events"
LISTENER_BUFFER = 1000
"""Events a listener may hold unread; past that it drops them and reads from the
database instead (a slow subscriber costs no memory and misses nothing)."""
PRUNE_EVERY = timedelta(hours=1)
READ_BATCH = 500


def _kick_broker(runtime: Runtime) -> None:
    runtime.events.kick()


def kick_after_commit(session: AsyncSession) -> None:
    """Have the relay number the events ``session``'s transaction writes once it commits."""
    after_commit(session, "events", _kick_broker)


class Listener:
    """One subscriber's view of an account's stream."""

    def __init__(self, broker: EventBroker, account_id: uuid.UUID, start: int) -> None:
        self.broker = broker
        self.account_id = account_id
        self.start = start
        """The broker's position when the listener joined: live events come after it."""
        self._buffer: deque[DeliveredEvent] = deque()
        self._overflowed = False
        self._ready = asyncio.Event()
        self.primer: tuple[Hashable, Callable[[DeliveredEvent], Awaitable[object]]] | None = None
        """What its consumer asks first of every event, and a key equal for consumers
        asking the same: the broker asks it once per key before waking anyone, so
        thousands of subscribers find the answer ready instead of each waiting for it."""

    def push(self, event: DeliveredEvent) -> None:
        if len(self._buffer) >= LISTENER_BUFFER:
            self._buffer.clear()
            self._overflowed = True
        else:
            self._buffer.append(event)
        self._ready.set()

    async def events(self, after: int | None) -> AsyncIterator[DeliveredEvent]:
        """Every event after ``after`` (``None``: after the moment of joining), in
        order, each once; reads the database for what the buffer does not hold (a
        resume, a gap after falling behind), then the events pushed live."""
        last = self.start if after is None else after
        while True:
            while self._buffer and self._buffer[0].sequence <= last:
                self._buffer.popleft()  # replayed from the database already
            behind = last < self.start or (self._buffer and self._buffer[0].sequence > last + 1)
            if self._overflowed or behind:
                self._overflowed = False
                replayed = await self.broker.read(self.account_id, after=last)
                for event in replayed:
                    last = event.sequence
                    yield event
                if replayed:
                    continue
                last = max(last, self.start)  # nothing more is kept: carry on live
            if not self._buffer:
                self._ready.clear()
                await self._ready.wait()
                continue
            event = self._buffer.popleft()
            last = event.sequence
            yield event


_LAST_SEQUENCES = select(EventStream.account_id, EventStream.last_sequence).where(
    col(EventStream.account_id).in_(bindparam("accounts", expanding=True))
)
"""The last sequence of each of the ``accounts`` given, built once: an ``in_()`` of a
list built per poll leaves a reference cycle each time (see
:data:`services.event_log.sequencing._STREAMS_OF`)."""


async def _prime(event: DeliveredEvent, listeners: tuple[Listener, ...]) -> None:
    primers: dict[Hashable, Callable[[DeliveredEvent], Awaitable[object]]] = {}
    for listener in listeners:
        if listener.primer is not None:
            primers.setdefault(*listener.primer)
    if not primers:
        return
    outcomes = await asyncio.gather(
        *(primer(event) for primer in primers.values()), return_exceptions=True
    )
    for outcome in outcomes:  # a consumer meets its own failure again when it asks
        if isinstance(outcome, Exception):
            log.warning("event_primer_failed", error=repr(outcome))


class EventBroker:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self._sessions = sessions
        self._redis_url = settings.redis_url
        self._listeners: dict[uuid.UUID, set[Listener]] = {}
        self._streams: dict[uuid.UUID, dict[Stream, None]] = {}
        """Per account, the task-less subscribers (:mod:`.streams`), in joining order."""
        self._catching_up: set[asyncio.Task[None]] = set()
        self._positions: dict[uuid.UUID, int] = {}
        """Per account with listeners: the last sequence pushed to them."""
        self._advancing: dict[uuid.UUID, asyncio.Lock] = {}
        self._kicked = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._starting = asyncio.Lock()
        self._last_pruned: float | None = None
        self._numbered: list[Callable[[], None]] = []
        self._publisher: Redis | None = None

    def when_numbered(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever new events are numbered (here, or announced by
        another instance): the webhook dispatcher creates their deliveries at once
        instead of at its next poll."""
        self._numbered.append(callback)

    def _tell_numbered(self) -> None:
        for callback in self._numbered:
            try:
                callback()
            except Exception:  # a listener's failure never stops the relay
                log.exception("event_numbered_callback_failed")

    # --- running --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._started

    async def start(self) -> None:
        """Run the relay and, with Redis, hear the other instances (idempotent)."""
        async with self._starting:
            if self._started:
                return
            try:  # what was committed while no relay ran is numbered before anyone listens
                await self.relay_once()
            except Exception:
                log.exception("event_relay_failed")
            self._tasks.append(asyncio.create_task(self._relay_loop(), name="portico-event-relay"))
            if self._redis_url:
                ready = asyncio.Event()
                self._tasks.append(asyncio.create_task(self._hear(ready), name="portico-events-in"))
                await ready.wait()
            self._started = True

    async def stop(self) -> None:
        if self._publisher is not None:
            publisher, self._publisher = self._publisher, None
            await publisher.aclose()
        for task in (*self._tasks, *self._catching_up):
            task.cancel()
        for task in (*self._tasks, *self._catching_up):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._started = False

    def kick(self) -> None:
        """Events were committed: number and announce them soon (no-op when stopped; the
        next relay pass after start numbers them)."""
        if self._started:
            self._kicked.set()

    async def relay_once(self) -> dict[uuid.UUID, int]:
        """Number what is committed, then push it here and announce it elsewhere."""
        reached: dict[uuid.UUID, int] = {}
        while True:
            async with transaction(self._sessions) as session:
                batch = await sequence_committed(session)
            if not batch:
                break
            reached.update(batch)
        if reached:
            self._tell_numbered()
            await self._announce(reached)
            for account_id, sequence in reached.items():
                await self.advance(account_id, sequence)
        return reached

    async def _relay_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.relay_once()
                await self._poll_listened()
                if self._last_pruned is None or loop.time() - self._last_pruned > (
                    PRUNE_EVERY.total_seconds()
                ):
                    self._last_pruned = loop.time()
                    await self.prune()
            except Exception:
                log.exception("event_relay_failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.event_poll_seconds):
                    await self._kicked.wait()
            self._kicked.clear()

    async def prune(self) -> int:
        keep = timedelta(days=self.settings.event_retention_days)
        async with transaction(self._sessions) as session:
            pruned = await prune_events(session, keep=keep)
        if pruned:
            log.info("events_pruned", count=pruned)
        return pruned

    # --- between instances ----------------------------------------------------------

    async def _announce(self, reached: dict[uuid.UUID, int]) -> None:
        if not self._redis_url:
            return
        from redis.asyncio import Redis

        if self._publisher is None:  # one client (and its pool) for the broker's life
            self._publisher = Redis.from_url(self._redis_url)
        message = orjson.dumps({str(account): seq for account, seq in reached.items()})
        try:
            await self._publisher.publish(CHANNEL, message)
        except Exception:  # the poll catches up; never fail the relay on Redis
            log.warning("event_announce_failed", exc_info=True)

    async def _hear(self, ready: asyncio.Event) -> None:
        from redis.asyncio import Redis

        redis = Redis.from_url(str(self._redis_url))
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            ready.set()
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    reached = {
                        uuid.UUID(account): int(seq)
                        for account, seq in orjson.loads(message["data"]).items()
                    }
                except (ValueError, TypeError, AttributeError):
                    log.warning("bad_event_announcement")
                    continue
                self._tell_numbered()
                for account_id, sequence in reached.items():
                    if self._listened(account_id):
                        await self.advance(account_id, sequence)
        finally:
            ready.set()
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore] # typed from redis 8.2
            await redis.aclose()

    def _listened(self, account_id: uuid.UUID) -> bool:
        return account_id in self._listeners or account_id in self._streams

    async def _poll_listened(self) -> None:
        accounts = list({*self._listeners, *self._streams})
        if not accounts:
            return
        async with self._sessions() as session:
            rows = (await session.exec(_LAST_SEQUENCES, params={"accounts": accounts})).all()
        for account_id, sequence in rows:
            await self.advance(account_id, sequence)

    # --- to listeners -----------------------------------------------------------------

    async def read(self, account_id: uuid.UUID, *, after: int) -> list[DeliveredEvent]:
        async with self._sessions() as session:
            rows = await events_after(session, account_id, after, limit=READ_BATCH)
        return [DeliveredEvent.of(row) for row in rows]

    async def advance(self, account_id: uuid.UUID, sequence: int) -> None:
        """Push the account's events up to ``sequence`` to its listeners, once each."""
        if not self._listened(account_id) or self._positions.get(account_id, 0) >= sequence:
            return
        lock = self._advancing.setdefault(account_id, asyncio.Lock())
        async with lock:
            while self._listened(account_id):
                position = self._positions[account_id]
                if position >= sequence:
                    return
                events = await self.read(account_id, after=position)
                if not events:
                    return
                for event in events:
                    listeners = tuple(self._listeners.get(account_id, ()))
                    if listeners:
                        await _prime(event, listeners)
                        for listener in listeners:
                            listener.push(event)
                    await self._fan_out(event)
                    if not listeners:  # a listener reads it later, and may still ask
                        event.forget()
                self._positions[account_id] = events[-1].sequence

    async def _fan_out(self, event: DeliveredEvent) -> None:
        """Hand ``event`` to the account's streams that are due for it, one call per
        deliverer; a stream with a gap before it catches up from the database."""
        streams = self._streams.get(event.account_id)
        if not streams:
            return
        due: dict[Deliverer, list[Stream]] = {}
        for stream in streams:
            state = stream.due(event)
            if state:
                due.setdefault(stream.deliverer, []).append(stream)
            elif state is None:
                self._catch_up(stream)
        for deliverer, batch in due.items():
            try:
                await deliverer.deliver(event, batch)
            except Exception:  # one kind's failure never stops the others
                log.exception("event_delivery_failed")

    def _catch_up(self, stream: Stream) -> None:
        stream.catching_up = True  # left out of the fan-out from now on

        async def read(account_id: uuid.UUID, after: int) -> list[DeliveredEvent]:
            return await self.read(account_id, after=after)

        task = asyncio.create_task(catch_up(stream, read), name="portico-event-catch-up")
        self._catching_up.add(task)
        task.add_done_callback(self._catching_up.discard)

    async def attach(self, stream: Stream, *, after: int | None) -> None:
        """Start ``stream`` after ``after`` (``None``: after the events numbered so far);
        an older cursor replays from the database first."""
        await self.start()
        account_id = stream.account_id
        lock = self._advancing.setdefault(account_id, asyncio.Lock())
        async with lock:  # no push runs while the starting point is settled
            if account_id not in self._positions:
                async with self._sessions() as session:
                    self._positions[account_id] = await last_sequence(session, account_id)
            position = self._positions[account_id]
            stream.last = position if after is None else after
            self._streams.setdefault(account_id, {})[stream] = None
            if stream.last < position:
                self._catch_up(stream)

    def detach(self, stream: Stream) -> None:
        stream.closed = True
        account_id = stream.account_id
        streams = self._streams.get(account_id)
        if streams is None:
            return
        streams.pop(stream, None)
        if not streams:
            del self._streams[account_id]
            if account_id not in self._listeners:
                self._positions.pop(account_id, None)
                self._advancing.pop(account_id, None)

    @asynccontextmanager
    async def listen(self, account_id: uuid.UUID) -> AsyncIterator[Listener]:
        """Join the account's stream for the duration of the block."""
        await self.start()
        lock = self._advancing.setdefault(account_id, asyncio.Lock())
        async with lock:  # no push runs while the starting point is settled
            if account_id not in self._positions:
                async with self._sessions() as session:
                    self._positions[account_id] = await last_sequence(session, account_id)
            listener = Listener(self, account_id, self._positions[account_id])
            self._listeners.setdefault(account_id, set()).add(listener)
        try:
            yield listener
        finally:
            listeners = self._listeners.get(account_id)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[account_id]
                    if account_id not in self._streams:
                        self._positions.pop(account_id, None)
                        self._advancing.pop(account_id, None)

    def listener_count(self) -> int:
        """Subscribers listening: listeners and streams."""
        listeners = sum(len(listeners) for listeners in self._listeners.values())
        return listeners + sum(len(streams) for streams in self._streams.values())
