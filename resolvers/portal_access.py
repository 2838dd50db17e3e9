"""Portal access: links, invites, contact passwords, registration, sessions, API tokens
and account settings - GraphQL arguments -> service call -> rows."""

from __future__ import annotations

from models.accounts import Account
from models.auth import ApiToken, AuthSession
from models.clients import Contact
from models.enums import LinkPurpose
from resolvers.common import atomic, caller, parse_id, parse_optional_id, staff
from resolvers.context import Info
from services import accounts, api_tokens, branding
from services import sessions as auth_sessions
from services.portal import access, dashboard, invites, passwords, registration, sign_in
from services.portal.links import IssuedLink
from services.portal.sessions import PortalSession
from services.stripe_gateway import connection
from services.uploads import UploadedFile


async def _request_link(info: Info, account: str, email: str, purpose: LinkPurpose) -> bool:
    """Count the request, then do the lookup and the mail after answering: the answer and
    its timing are the same whether or not the email belongs to a contact."""
    runtime = info.context.runtime
    key = await sign_in.check_link_request_limits(
        runtime.limiter, runtime.settings, email=email, client_address=info.context.client_address
    )
    runtime.background.spawn(
        sign_in.send_sign_in_link(runtime, account_slug=account, email=key, purpose=purpose),
        name=f"send-{purpose.value.lower()}",
    )
    return True


async def request_magic_link(info: Info, account: str, email: str) -> bool:
    return await _request_link(info, account, email, LinkPurpose.MAGIC_LINK)


async def request_password_reset(info: Info, account: str, email: str) -> bool:
    return await _request_link(info, account, email, LinkPurpose.PASSWORD_RESET)


async def redeem_portal_link(info: Info, token: str, account: str | None) -> PortalSession:
    async with atomic(info) as work:
        return await sign_in.redeem_portal_link(
            work.session,
            info.context.runtime,
            token=token,
            account_slug=account,
            caller=info.context.principal,
        )


async def accept_invite(
    info: Info, token: str, password: str, account: str | None
) -> PortalSession:
    password_hash = await passwords.hash_password_for_link(
        info.context.runtime, token=token, password=password, purpose=LinkPurpose.INVITE
    )
    async with atomic(info) as work:
        return await passwords.set_password_with_link(
            work.session,
            info.context.runtime,
            token=token,
            password_hash=password_hash,
            purpose=LinkPurpose.INVITE,
            account_slug=account,
        )


async def reset_password(
    info: Info, token: str, password: str, account: str | None
) -> PortalSession:
    password_hash = await passwords.hash_password_for_link(
        info.context.runtime, token=token, password=password, purpose=LinkPurpose.PASSWORD_RESET
    )
    async with atomic(info) as work:
        return await passwords.set_password_with_link(
            work.session,
            info.context.runtime,
            token=token,
            password_hash=password_hash,
            purpose=LinkPurpose.PASSWORD_RESET,
            account_slug=account,
        )


async def portal_sign_in(info: Info, account: str, email: str, password: str) -> PortalSession:
    """The password is checked outside the transaction, the session written in it."""
    contact_id = await sign_in.verify_contact_password(
        info.context.session,
        info.context.runtime,
        limiter=info.context.runtime.limiter,
        account_slug=account,
        email=email,
        password=password,
        client_address=info.context.client_address,
    )
    async with atomic(info) as work:
        return await sign_in.open_password_session(
            work.session, info.context.runtime, contact_id=contact_id
        )


async def register_client(info: Info, account: str, data: registration.Registration) -> bool:
    runtime = info.context.runtime
    await runtime.limiter.hit(
        runtime.settings.registrations_per_address,
        "register:address",
        info.context.client_address,
    )
    async with atomic(info) as work:
        await registration.register_client(
            work.session, info.context.runtime, account_slug=account, data=data
        )
    return True


async def invite_contact(info: Info, contact_id: str) -> tuple[Contact, IssuedLink]:
    actor = staff(info)
    async with atomic(info) as work:
        return await invites.invite_contact(
            work.session,
            info.context.runtime,
            actor=actor,
            contact_id=parse_id(contact_id, field="contactId"),
        )


async def create_portal_link(info: Info, contact_id: str) -> IssuedLink:
    actor = staff(info)
    async with atomic(info) as work:
        return await dashboard.create_dashboard_link(
            work.session,
            info.context.runtime,
            actor=actor,
            contact_id=parse_id(contact_id, field="contactId"),
        )


async def revoke_contact_access(info: Info, contact_id: str) -> Contact:
    actor = staff(info)
    async with atomic(info) as work:
        return await access.revoke_contact_access(
            work.session, actor=actor, contact_id=parse_id(contact_id, field="contactId")
        )


async def sessions(info: Info, contact_id: str | None) -> list[AuthSession]:
    return await auth_sessions.list_sessions(
        info.context.session,
        principal=caller(info),
        contact_id=parse_optional_id(contact_id, field="contactId"),
    )


async def revoke_session(info: Info, id: str) -> AuthSession:
    principal = caller(info)
    async with atomic(info) as work:
        return await auth_sessions.revoke_session(
            work.session, principal=principal, session_id=parse_id(id)
        )


async def api_token_list(info: Info) -> list[ApiToken]:
    return await api_tokens.list_api_tokens(session=info.context.session, actor=staff(info))


async def revoke_api_token(info: Info, id: str) -> ApiToken:
    actor = staff(info)
    async with atomic(info) as work:
        return await api_tokens.revoke_api_token(
            session=work.session, actor=actor, token_id=parse_id(id)
        )


async def update_account_settings(
    info: Info,
    data: accounts.AccountSettingsData,
    *,
    logo: UploadedFile | None = None,
    background_image: UploadedFile | None = None,
) -> Account:
    return await branding.update_settings_with_images(
        runtime=info.context.runtime,
        session=info.context.session,
        actor=staff(info),
        data=data,
        logo=logo,
        background_image=background_image,
    )


async def connect_stripe(info: Info, keys: connection.StripeKeys) -> Account:
    return await connection.connect_stripe(
        info.context.runtime, info.context.session, staff(info), keys
    )


async def disconnect_stripe(info: Info) -> Account:
    actor = staff(info)
    async with atomic(info) as work:
        return await connection.disconnect_stripe(work, actor)
