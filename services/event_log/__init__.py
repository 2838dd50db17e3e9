"""The partner event log: the outbox rows actions write (:mod:`services.activity`), put
in commit order and kept for a while, and what carries them to subscribers.

- :mod:`.sequencing` — the relay: gives each committed event its place in its account's
  stream, in commit order (why not insertion order: see there).
- :mod:`.reading` — cursors, reading a stream after a cursor, ``CURSOR_EXPIRED``.
- :mod:`.retention` — pruning events older than ``event_retention_days``.
- :mod:`.broker` — one per process: runs the relay, tells other instances (Redis) and
  hands each new event to this instance's listeners once.
- :mod:`.delivered` — an event as listeners receive it, with what its subscribers share
  (one principal check, one visibility check, one execution per group).
"""
