"""One Stripe Customer per client: card payments, saved methods and automatic charges all
go through it."""

from __future__ import annotations

import stripe

from models.clients import Client
from services.errors import PaymentProviderError
from services.runtime import Runtime
from services.stripe_gateway.connection import Connected
from services.unit_of_work import unit_of_work


async def customer_of(runtime: Runtime, gateway: Connected, client: Client) -> str:
    """The client's Stripe Customer, made once (the idempotency key is the client's id);
    called outside any transaction, it records the id in one of its own."""
    if client.stripe_customer_id:
        return client.stripe_customer_id
    try:
        customer = await gateway.client.v1.customers.create_async(
            params={
                "name": client.company or client.name,
                "metadata": {"portico_client_id": str(client.id)},
                **({"email": client.email} if client.email else {}),
            },
            options={"idempotency_key": f"portico-customer-{client.id}"},
        )
    except stripe.StripeError as error:
        raise PaymentProviderError(
            f"Stripe could not be reached ({type(error).__name__})."
        ) from error
    async with unit_of_work(runtime) as work:
        row = await work.session.get(Client, client.id, with_for_update=True)
        if row is not None and row.stripe_customer_id is None:
            row.stripe_customer_id = customer.id
        elif row is not None and row.stripe_customer_id:
            return row.stripe_customer_id
    return customer.id
