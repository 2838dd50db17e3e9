"""Start-up work that keeps latency flat once traffic arrives.

A full garbage collection walks every tracked object, and a server's heap is mostly
what start-up made and never frees: modules, the schemas, SQLAlchemy's mappers. On this
project's heap a full collection took 140-250 ms, stalling every request (``/healthz``
included) while it ran; ``bench/signin_flood.py`` showed it as the worst latency under a
sign-in flood. So start-up builds the standard profiles' schemas (the anonymous one that
sign-in floods use, and the staff and contact ones most requests use), collects once, and
moves what is left into the permanent generation (:func:`gc.freeze`), which later
collections skip.

It also sets the collector's thresholds (``PORTICO_GC_THRESHOLDS``): a server allocates
and frees far more objects per second than the defaults were made for, and with many
open subscriptions each young collection promoted survivors that the older ones then
walked again and again (bench/subscribers.py measured 72% of the CPU of an event's
fan-out to 10,000 subscribers in the collector with the defaults).
"""

from __future__ import annotations

import gc

from auth.profiles import STANDARD_PROFILES
from schema.registry import SchemaRegistry


def warm_up(registry: SchemaRegistry, *, gc_thresholds: tuple[int, int, int]) -> None:
    """Build the standard schemas, then freeze the start-up heap out of the collector."""
    gc.set_threshold(*gc_thresholds)
    for profile in STANDARD_PROFILES.values():
        registry.for_profile(profile)
    gc.collect()
    gc.freeze()
