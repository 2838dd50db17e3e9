"""Accounts (tenants) and their staff users."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from babel import Locale, UnknownLocaleError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.passwords import PasswordHasherPool, password_problem
from auth.principals import StaffPrincipal
from models.accounts import Account, StaffUser
from models.enums import Module, PartnerDocuments, StaffRole, UnpaidSubscriptionAction
from models.types import utcnow
from services.errors import BadInput, Conflict, NotFound
from services.events import access as access_events
from services.money import check_amount, validate_currency
from services.passwords import hash_password
from services.portal.access import end_contact_access
from services.unit_of_work import after_commit
from services.validation import normalise_email, optional_text, required_text

if TYPE_CHECKING:
    from services.runtime import Runtime

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


async def create_account(
    session: AsyncSession, *, name: str, slug: str, currency: str = "USD"
) -> Account:
    slug = slug.strip().lower()
    if not SLUG_PATTERN.fullmatch(slug):
        raise BadInput("Use lower-case letters, digits and dashes.", field="slug")
    if (await session.exec(select(Account.id).where(Account.slug == slug))).first():
        raise Conflict("This slug is taken.", field="slug")
    account = Account(
        name=required_text(name, field="name", max_length=200),
        slug=slug,
        currency=validate_currency(currency),
    )
    session.add(account)
    await session.flush()
    return account


async def create_staff_user(
    session: AsyncSession,
    *,
    account: Account,
    email: str,
    name: str,
    role: StaffRole,
    password: str | None,
    passwords: PasswordHasherPool | None = None,
) -> StaffUser:
    email = normalise_email(email)
    if (await session.exec(select(StaffUser.id).where(StaffUser.email == email))).first():
        raise Conflict("A staff user with this email exists.", field="email")
    if password is not None and (problem := password_problem(password)):
        raise BadInput(problem, field="password")
    password_hash = await hash_password(password, pool=passwords) if password is not None else None
    user = StaffUser(
        account_id=account.id,
        email=email,
        name=required_text(name, field="name", max_length=200),
        role=role,
        password_hash=password_hash,
    )
    session.add(user)
    await session.flush()
    return user


async def create_account_with_owner(
    session: AsyncSession,
    *,
    account_name: str,
    slug: str,
    email: str,
    name: str,
    password: str,
) -> tuple[Account, StaffUser]:
    """A new account and its first user (OWNER): the CLI's ``create-admin``."""
    account = await create_account(session, name=account_name, slug=slug)
    owner = await create_staff_user(
        session, account=account, email=email, name=name, role=StaffRole.OWNER, password=password
    )
    return account, owner


async def account_for_portal(session: AsyncSession, *, slug: str) -> Account:
    """The account whose public portal page ``slug`` names (branding only is shown)."""
    account = (
        await session.exec(select(Account).where(Account.slug == slug.strip().lower()))
    ).one_or_none()
    if account is None:
        raise NotFound("Portal")
    return account


@dataclass(frozen=True, slots=True)
class AccountSettingsData:
    """Fields left ``None`` keep their value."""

    name: str | None = None
    timezone: str | None = None
    locale: str | None = None
    logo_url: str | None = None
    primary_color: str | None = None
    background_image_url: str | None = None
    portal_enabled: bool | None = None
    registration_enabled: bool | None = None
    password_login_enabled: bool | None = None
    enabled_modules: list[Module] | None = None
    lock_sent_invoices: bool | None = None
    convert_quote_on_approval: bool | None = None
    quote_requires_terms: bool | None = None
    quote_requires_signature: bool | None = None
    quote_requires_po_number: bool | None = None
    quote_terms: str | None = None
    allow_partial_payments: bool | None = None
    allow_overpayment: bool | None = None
    minimum_payment_amount: Decimal | None = None
    white_label: bool | None = None
    client_uploads_enabled: bool | None = None
    client_upload_max_bytes: int | None = None
    """``0`` goes back to the server's limit."""
    client_payments_enabled: bool | None = None
    task_sharing_enabled: bool | None = None
    terms_text: str | None = None
    privacy_text: str | None = None
    logo_key: str | None = None
    """A stored logo (``services.branding``); not from the input directly."""
    background_image_key: str | None = None
    client_prepayments_enabled: bool | None = None
    client_prepayment_minimum: Decimal | None = None
    subscription_unpaid_action: UnpaidSubscriptionAction | None = None
    partner_documents: PartnerDocuments | None = None


def known_locale(value: str) -> str:
    """``value`` as a CLDR locale Babel knows (``de-DE`` -> ``de_DE``), else BAD_USER_INPUT."""
    try:
        return str(Locale.parse(value.strip().replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        raise BadInput("Unknown locale (use a CLDR name such as en_US).", field="locale") from None


COLOR_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}$")


def _url_or_none(value: str, *, field: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    parsed = urlsplit(value)
    if parsed.scheme not in {"https", "http"} or not parsed.netloc or len(value) > 500:
        raise BadInput("Give an http(s) URL of at most 500 characters.", field=field)
    return value


def _apply_settings(account: Account, data: AccountSettingsData) -> None:
    if data.name is not None:
        account.name = required_text(data.name, field="name", max_length=200)
    if data.timezone is not None:
        if data.timezone not in available_timezones():
            raise BadInput("Unknown time zone (use an IANA name).", field="timezone")
        account.timezone = data.timezone
    if data.locale is not None:
        account.locale = known_locale(data.locale)
    if data.logo_url is not None:
        account.logo_url = _url_or_none(data.logo_url, field="logoUrl")
        account.logo_key = None  # a URL given replaces an uploaded logo
    if data.logo_key is not None:
        account.logo_key, account.logo_url = data.logo_key, None
    if data.background_image_url is not None:
        account.background_image_url = _url_or_none(
            data.background_image_url, field="backgroundImageUrl"
        )
        account.background_image_key = None
    if data.background_image_key is not None:
        account.background_image_key, account.background_image_url = (
            data.background_image_key,
            None,
        )
    if data.primary_color is not None:
        if not COLOR_PATTERN.fullmatch(data.primary_color):
            raise BadInput("Use a #RRGGBB colour.", field="primaryColor")
        account.primary_color = data.primary_color.upper()
    if data.enabled_modules is not None:
        account.enabled_modules = sorted({m.value for m in data.enabled_modules})
    if data.quote_terms is not None:
        account.quote_terms = optional_text(data.quote_terms, field="quoteTerms", max_length=20000)
    if data.terms_text is not None:
        account.terms_text = optional_text(data.terms_text, field="termsText", max_length=50000)
    if data.privacy_text is not None:
        account.privacy_text = optional_text(
            data.privacy_text, field="privacyText", max_length=50000
        )
    if data.client_upload_max_bytes is not None:
        if data.client_upload_max_bytes < 0:
            raise BadInput(
                "Give a size in bytes (0: the server's limit).", field="clientUploadMaxBytes"
            )
        account.client_upload_max_bytes = data.client_upload_max_bytes or None
    if data.minimum_payment_amount is not None:
        account.minimum_payment_amount = check_amount(
            data.minimum_payment_amount, account.currency, field="minimumPaymentAmount"
        )
    if data.client_prepayment_minimum is not None:
        account.client_prepayment_minimum = check_amount(
            data.client_prepayment_minimum, account.currency, field="clientPrepaymentMinimum"
        )
    if data.subscription_unpaid_action is not None:
        account.subscription_unpaid_action = data.subscription_unpaid_action
    if data.partner_documents is not None:
        account.partner_documents = data.partner_documents
    for flag in (
        "portal_enabled",
        "registration_enabled",
        "password_login_enabled",
        "lock_sent_invoices",
        "convert_quote_on_approval",
        "quote_requires_terms",
        "quote_requires_signature",
        "quote_requires_po_number",
        "allow_partial_payments",
        "allow_overpayment",
        "white_label",
        "client_uploads_enabled",
        "client_payments_enabled",
        "task_sharing_enabled",
        "client_prepayments_enabled",
    ):
        value = getattr(data, flag)
        if value is not None:
            setattr(account, flag, value)


def forget_stored_files(session: AsyncSession, keys: set[str | None]) -> None:
    """Delete the stored files ``keys`` once ``session``'s change is committed."""

    async def delete(runtime: Runtime) -> None:
        for key in keys:
            if key is not None:
                await runtime.storage.delete(key)

    after_commit(session, f"storage.delete:{','.join(sorted(k for k in keys if k))}", delete)


async def update_account_settings(
    *, session: AsyncSession, actor: StaffPrincipal, data: AccountSettingsData
) -> Account:
    """Modules, branding and portal options. Turning the portal off ends every contact's
    sessions and links at once. A logo or background replaced or removed leaves storage
    once the change is committed."""
    account = (
        await session.exec(select(Account).where(Account.id == actor.account_id).with_for_update())
    ).one()
    portal_was_on = account.portal_enabled
    images_before = {account.logo_key, account.background_image_key}
    _apply_settings(account, data)
    replaced = images_before - {account.logo_key, account.background_image_key, None}
    if replaced:
        forget_stored_files(session, replaced)
    account.updated_at = utcnow()
    if portal_was_on and not account.portal_enabled:
        await end_contact_access(session, account_id=account.id)
    access_events.settings_updated(
        session, account, actor, changed=(k for k, v in asdict(data).items() if v is not None)
    )
    return account
