"""Taking money through Stripe, with the official ``stripe`` library (its async calls).

- :mod:`.connection` — connecting an account's Stripe keys (checked, sealed at rest,
  write-only through the API) and the client each account's calls go through
  (``PORTICO_STRIPE_API_BASE`` points it elsewhere, e.g. localstripe in the tests).
- :mod:`.amounts` — Portico's exact amounts as Stripe's integer minor units, and back.
- :mod:`.card_payments` — "Pay now": a PaymentIntent per Portico payment, one per balance.
- :mod:`.customers` — one Stripe Customer per client.
- :mod:`.payment_methods` — saving a card (SetupIntent) and removing one (detached at
  Stripe); the rows are :mod:`services.payments.methods`'.
- :mod:`.auto_bill` — the scheduler's off-session charges of auto-billed invoices, with
  retries (:mod:`.auto_bill_notices` mails the billing contacts).
- :mod:`.webhooks` — verified, stored once per event id, each handled in one unit of work
  and safe out of order (:mod:`.handlers`, :mod:`.method_handlers`; refunds in
  :mod:`.refunds`, disputes in :mod:`.disputes`, the payment a charge or dispute names in
  :mod:`.charges`); :mod:`.refresh` re-reads from Stripe, before the transaction, what an
  event about a card is about.
- :mod:`.refunds` — ``refundPayment`` on a card payment: refunded through Stripe, the
  balances follow when Stripe confirms.
- :mod:`.sync` — ``portico stripe-sync``: the events missed while the server was down.

Calls to Stripe never happen inside a database transaction (a transaction would hold
SQLite's write lock, or PostgreSQL row locks, across a network round trip): a change that
needs Stripe commits what it decided first, calls Stripe with an idempotency key derived
from the committed row, then records Stripe's answer in a second unit of work.
"""
