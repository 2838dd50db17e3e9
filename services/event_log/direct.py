"""Forwarding an event's frame to the subscribers that would receive the very same one.

With one shared execution per event (:class:`schema.event_execution.SharedEventExecutor`)
what remained per subscriber was the way through the GraphQL pipeline: graphql-core's
per-event executor, Strawberry's result stream and extensions, the protocol handler,
the JSON encoding — about 90 µs for each of 10,000 subscribers, for a result known
after the first. So per event and group (the subscribers with the same profile, row
scope, selection and variables below the subscription's root field) one subscriber, the
*leader*, takes the whole pipeline; its WebSocket adapter publishes the encoded payload
before sending it (:data:`PUBLISHING`), and every other member sends ``{"id": <its
operation>, "type": "next", "payload": <that payload>}`` itself. Each member still
checks the event against its own subscription first (addressed to it, credential live,
profile unchanged, the invoice in its scope): only what passes is forwarded, and
anything unusual — a leader that published nothing, a protocol without a
:class:`FrameSender` (legacy graphql-ws) — takes the whole pipeline as before.

Order per subscriber is kept: each subscriber still handles its events one by one in
its own task; forwarding only shortens what it does with each.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    VariableNode,
    print_ast,
    visit,
)
from graphql.execution.values import VariableValues
from graphql.language import Visitor

from services.event_log.delivered import DeliveredEvent


class FrameSender(Protocol):
    """Sends a ``next`` message with an already encoded payload on one operation."""

    async def send_payload(self, payload: str) -> None: ...


FRAME_SENDER: ContextVar[FrameSender | None] = ContextVar("portico_frame_sender", default=None)
"""Set by the WebSocket protocol handler for the operation task it starts."""


@dataclass(slots=True)
class Publishing:
    """A leader's promise to publish its payload for one event and group."""

    future: asyncio.Future[str | None]

    def publish(self, payload: str | None) -> None:
        if not self.future.done():
            self.future.set_result(payload)


PUBLISHING: ContextVar[Publishing | None] = ContextVar("portico_publishing", default=None)
"""Set in the leader's task while its event goes through the pipeline; the WebSocket
adapter publishes the next payload it encodes."""


class Forwarder:
    """One subscription's side of forwarding."""

    __slots__ = ("_key", "_leading", "_shape_of", "sender")

    def __init__(self, sender: FrameSender, shape_of: Callable[[], Hashable]) -> None:
        self.sender = sender
        self._shape_of: Callable[[], Hashable] | None = shape_of
        self._key: Hashable = None
        self._leading: Publishing | None = None

    @classmethod
    def for_operation(cls, shape_of: Callable[[], Hashable]) -> Forwarder | None:
        """``shape_of()``: the subscription's :func:`document_key`, asked at its first
        event (subscribing stays cheap)."""
        sender = FRAME_SENDER.get()
        return None if sender is None else cls(sender, shape_of)

    @property
    def document_key(self) -> Hashable:
        if self._shape_of is not None:
            self._key = self._shape_of()
            self._shape_of = None
        return self._key

    async def forward(self, event: DeliveredEvent, group: Hashable) -> bool:
        """Send the group's payload for ``event``; ``False``: this subscriber takes the
        whole pipeline (it leads the group for this event, or no payload was published)."""
        leads, future = event.claim(("frame", group, self.document_key))
        if leads:
            self._leading = Publishing(future)
            PUBLISHING.set(self._leading)
            return False
        payload = future.result() if future.done() else await asyncio.shield(future)
        if payload is None:
            return False
        await self.sender.send_payload(payload)
        return True

    def settle(self) -> None:
        """After the pipeline delivered the event (or failed to): a leader that has not
        published tells its group to take the pipeline themselves."""
        if self._leading is not None:
            self._leading.publish(None)
            self._leading = None
            PUBLISHING.set(None)


def document_key(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: VariableValues | Mapping[str, Any],
) -> Hashable:
    """What decides a subscription's result besides the event and the subscriber: the
    operation and fragments as text, and the values of the variables used *below* the
    root field (``after`` and ``clientId`` choose the events, not their shape, so
    subscribers resuming from different cursors still share)."""
    text, used = _shape(operation, fragments)
    values = variables.coerced if isinstance(variables, VariableValues) else variables
    shaping = {name: values[name] for name in used if name in values}
    return (text, orjson.dumps(shaping, option=orjson.OPT_SORT_KEYS, default=str))


_SHAPES: OrderedDict[int, tuple[OperationDefinitionNode, tuple[str, tuple[str, ...]]]] = (
    OrderedDict()
)
_MAX_SHAPES = 256


def _shape(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[str, tuple[str, ...]]:
    """The document's text and the variables below its root field, worked out once per
    parsed document (:mod:`schema.parse_cache` hands every subscriber sending the same
    text the same tree)."""
    kept = _SHAPES.get(id(operation))
    if kept is not None and kept[0] is operation:
        return kept[1]
    parts = [print_ast(operation)]
    parts.extend(print_ast(fragments[name]) for name in sorted(fragments))
    shape = ("\n".join(parts), tuple(sorted(_variables_below_root(operation, fragments))))
    _SHAPES[id(operation)] = (operation, shape)
    if len(_SHAPES) > _MAX_SHAPES:
        _SHAPES.popitem(last=False)
    return shape


def _variables_below_root(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_variable(self, node: VariableNode, *_args: Any) -> None:
            names.add(node.name.value)

    collect = Collect()
    try:
        for selection in operation.selection_set.selections:
            if isinstance(selection, FieldNode):
                for directive in selection.directives or ():
                    visit(directive, collect)  # @include(if: $x) shapes the result
                if selection.selection_set is not None:
                    visit(selection.selection_set, collect)
            else:
                visit(selection, collect)  # a fragment at the root: count everything in it
        for fragment in fragments.values():
            visit(fragment.selection_set, collect)
    finally:
        # the visitor keeps its bound methods per node kind: a cycle with itself
        collect.enter_leave_map.clear()
    return names
