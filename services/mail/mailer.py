"""INTERFACE SKETCH - being implemented (see the mail helper's task)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.accounts import Account
from models.mail import MailMessage
from services.config import Settings


class Mailer:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions

    async def queue(
        self,
        session: AsyncSession,
        *,
        account: Account | None,
        to: str,
        template: str,
        context: dict[str, Any],
    ) -> MailMessage:
        raise NotImplementedError

    def kick(self) -> None:
        raise NotImplementedError

    async def drain(self) -> None:
        raise NotImplementedError

    async def deliver_pending(self) -> int:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError
