"""Accounts (tenants) and their staff users."""

from __future__ import annotations

import re

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.passwords import hash_password, password_problem
from models.accounts import Account, StaffUser
from models.enums import StaffRole
from services.errors import BadInput, Conflict, NotFound
from services.money import validate_currency
from services.validation import normalise_email, required_text

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
) -> StaffUser:
    email = normalise_email(email)
    if (await session.exec(select(StaffUser.id).where(StaffUser.email == email))).first():
        raise Conflict("A staff user with this email exists.", field="email")
    if password is not None and (problem := password_problem(password)):
        raise BadInput(problem, field="password")
    user = StaffUser(
        account_id=account.id,
        email=email,
        name=required_text(name, field="name", max_length=200),
        role=role,
        password_hash=hash_password(password) if password is not None else None,
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
