"""Partner webhooks (Saleor's model, Stripe's signatures): an admin registers an endpoint
for an API token with a ``subscription { invoiceChanged { ... } }`` document; every event
of the account's stream the token may see becomes one delivery, its body the document's
result for that event, POSTed signed and retried until the endpoint accepts it.

- :mod:`.urls` — which URLs may be called (no private, loopback or link-local targets).
- :mod:`.signing` — secrets and the ``Portico-Signature`` header.
- :mod:`.endpoints` — registering, changing and removing endpoints; reading deliveries.
- :mod:`.deliveries` — delivery rows, created exactly once; claiming, backoff, outcomes.
- :mod:`.sender` — one HTTP attempt.
- :mod:`.dispatcher` — the loop every instance runs (``server.webhooks`` starts it).
"""
