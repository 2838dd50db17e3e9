"""Subscriptions billed by Portico's own recurring engine (not Stripe Billing), one
module per concept: the account's plans (:mod:`.plans`), period arithmetic
(:mod:`.periods`), proration (:mod:`.proration`), issuing a subscription's invoices
(:mod:`.invoicing`), what clients and staff do to a subscription (:mod:`.lifecycle`),
the renewal job (:mod:`.renewals`) and what failed charges do (:mod:`.dunning`).

Each invoice a subscription issues is charged off-session by the auto-bill path
(:mod:`services.stripe_gateway.auto_bill`), with its retries.
"""
