"""The domain events, one module per domain, one recorder function per event.

A recorder is the only way its event is recorded: it writes the activity entry (and, for
the events partners receive, the outbox event) through :func:`services.activity.record`,
in the entry's one shape: snake_case detail keys, amounts, dates and ids as strings. Each
module's docstring lists its events (when, and the detail keys) and states the one rule
for what the client's timeline shows. No other module calls ``activity.record``, and every
:class:`models.activity.Verb` has exactly one recorder (``tests/services/
test_event_recorders.py``).

=====================  ==============================================================
module                 events
=====================  ==============================================================
:mod:`.invoices`       ``invoice.*``: the partner kinds, also on the outbox
:mod:`.quotes`         ``quote.*``
:mod:`.payments`       ``payment.*``
:mod:`.payment_methods` ``payment_method.*``: saved cards
:mod:`.credits`        ``credit.*``
:mod:`.clients`        ``client.*`` and ``contact.created/updated/deleted``
:mod:`.recurring`      ``recurring_invoice.*``
:mod:`.projects`       ``project.*`` and ``task.*``
:mod:`.time_logs`      ``time_log.*``
:mod:`.support`        ``support_ticket.*``
:mod:`.access`         API tokens, account settings, contacts' portal access
:mod:`.webhooks`       ``webhook.*``: partner webhook endpoints
:mod:`.documents`      ``document.*``: uploads, changes, deletions
=====================  ==============================================================

Callers import a module under a name that says its domain:
``from services.events import quotes as quote_events``.
"""
