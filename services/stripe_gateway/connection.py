"""An account's Stripe connection: its keys, checked against Stripe and kept sealed.

``connectStripe`` checks the secret key with a harmless read (the balance: an API key
that cannot read it cannot take payments either) before anything is stored; the secret
key and the webhook signing secret are sealed (:class:`auth.secret_box.SecretBox`) and
never readable through the API — the account shows whether Stripe is connected, the
publishable key (public by design: Stripe.js needs it) and the webhook URL to paste in
Stripe's dashboard.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import stripe
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from auth.secret_box import SecretBox
from models.accounts import Account
from models.types import utcnow
from services.config import Settings
from services.errors import BadInput, NotFound, PaymentsNotConfigured
from services.events import access as access_events
from services.runtime import Runtime
from services.unit_of_work import UnitOfWork, end_read, unit_of_work

SECRET_PURPOSE = "stripe"


def secret_box(settings: Settings) -> SecretBox:
    return SecretBox(settings.secret_key.get_secret_value(), purpose=SECRET_PURPOSE)


def client_for_key(settings: Settings, secret_key: str) -> stripe.StripeClient:
    """The official client, async over httpx, sending to ``stripe_api_base``."""
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": settings.stripe_api_base},
        http_client=stripe.HTTPXClient(),
        max_network_retries=2,
    )


@dataclass(frozen=True, slots=True)
class Connected:
    """An account's open Stripe connection: the client and what Stripe.js needs."""

    client: stripe.StripeClient
    publishable_key: str
    webhook_secret: str


def connected(settings: Settings, account: Account) -> Connected:
    """The account's Stripe connection, or ``PAYMENTS_NOT_CONFIGURED``."""
    if not (account.stripe_secret_key and account.stripe_publishable_key):
        raise PaymentsNotConfigured()
    box = secret_box(settings)
    return Connected(
        client=client_for_key(settings, box.open(account.stripe_secret_key)),
        publishable_key=account.stripe_publishable_key,
        webhook_secret=box.open(account.stripe_webhook_secret or ""),
    )


async def lock_account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    statement = select(Account).where(Account.id == account_id).with_for_update()
    account = (await session.exec(statement)).one_or_none()
    if account is None:  # pragma: no cover - principals belong to accounts
        raise NotFound("Account")
    return account


def webhook_url(settings: Settings, account_id: uuid.UUID) -> str:
    return f"{settings.public_base_url.rstrip('/')}/webhooks/stripe/{account_id}"


@dataclass(frozen=True, slots=True)
class StripeKeys:
    secret_key: str
    publishable_key: str
    webhook_secret: str

    def check(self) -> None:
        if not self.secret_key.startswith(("sk_", "rk_")):
            raise BadInput("A Stripe secret key starts with sk_ (or rk_).", field="secretKey")
        if not self.publishable_key.startswith("pk_"):
            raise BadInput("A Stripe publishable key starts with pk_.", field="publishableKey")
        if not self.webhook_secret.startswith("whsec_"):
            raise BadInput(
                "The webhook signing secret starts with whsec_ (Stripe shows it once you add "
                "the endpoint).",
                field="webhookSecret",
            )
        live = (self.secret_key.split("_")[1], self.publishable_key.split("_")[1])
        if live[0] != live[1]:
            raise BadInput(
                "Use the secret and publishable keys of the same mode (test or live).",
                field="publishableKey",
            )


async def verify_keys(settings: Settings, keys: StripeKeys) -> None:
    """Ask Stripe whether the secret key works (outside any transaction)."""
    keys.check()
    client = client_for_key(settings, keys.secret_key)
    try:
        await client.v1.balance.retrieve_async()
    except stripe.AuthenticationError as error:
        raise BadInput("Stripe refused this secret key.", field="secretKey") from error
    except stripe.StripeError as error:
        raise BadInput(
            f"Stripe could not be reached to check the key ({type(error).__name__}).",
            field="secretKey",
        ) from error


def store_keys(
    session: AsyncSession, settings: Settings, account: Account, keys: StripeKeys
) -> None:
    box = secret_box(settings)
    account.stripe_secret_key = box.seal(keys.secret_key)
    account.stripe_webhook_secret = box.seal(keys.webhook_secret)
    account.stripe_publishable_key = keys.publishable_key
    account.stripe_connected_at = utcnow()
    account.updated_at = utcnow()
    session.add(account)


def forget_keys(session: AsyncSession, account: Account) -> None:
    account.stripe_secret_key = None
    account.stripe_webhook_secret = None
    account.stripe_publishable_key = None
    account.stripe_connected_at = None
    account.updated_at = utcnow()
    session.add(account)


async def connect_stripe(
    runtime: Runtime, session: AsyncSession, actor: StaffPrincipal, keys: StripeKeys
) -> Account:
    """Check the keys with Stripe (no transaction open meanwhile), then store them."""
    await end_read(session)
    await verify_keys(runtime.settings, keys)
    async with unit_of_work(runtime, session) as work:
        account = await lock_account(work.session, actor.account_id)
        store_keys(work.session, runtime.settings, account, keys)
        access_events.stripe_connected(
            work.session,
            account,
            actor,
            livemode=keys.secret_key.startswith(("sk_live", "rk_live")),
        )
    return account


async def disconnect_stripe(work: UnitOfWork, actor: StaffPrincipal) -> Account:
    """Forget the keys: online payments stop (``PAYMENTS_NOT_CONFIGURED``); what Stripe
    already holds (customers, saved cards) stays there."""
    account = await lock_account(work.session, actor.account_id)
    if account.stripe_secret_key is not None:
        forget_keys(work.session, account)
        access_events.stripe_disconnected(work.session, account, actor)
    return account
