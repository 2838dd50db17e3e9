"""The typed per-request context every resolver receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import strawberry
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Anonymous, Principal
from resolvers.loaders import Loaders
from services.runtime import Runtime
from services.sessions import SessionHolder


@dataclass(slots=True)
class Context:
    runtime: Runtime
    session: AsyncSession
    principal: Principal = field(default_factory=Anonymous)
    client_address: str = "unknown"
    request: Any = None
    connection_params: dict[str, Any] | None = None
    """The WebSocket ``connection_init`` payload (set by Strawberry's protocol handlers)."""
    _loaders: Loaders | None = None
    schemas: Any = None
    """The app's per-profile schemas (a ``schema.registry.SchemaRegistry``), for checking a
    document against another principal's schema (webhook queries)."""
    release: Callable[[], None] | None = None
    """Untracks a WebSocket from the revocation hub when it ends."""
    holder: SessionHolder | None = None
    """The rows the principal's session was read from (primed into the loaders)."""

    @property
    def loaders(self) -> Loaders:
        """Per-request DataLoaders, scoped to the principal (built on first use)."""
        if self._loaders is None:
            self._loaders = Loaders(self.session, self.principal)
            if self.holder is not None:
                self._loaders.prime_holder(self.holder)
        return self._loaders

    def reset_principal(self, principal: Principal) -> None:
        """Switch the caller (sign-in on a WebSocket); loaders are rebuilt for it."""
        self.principal = principal
        self._loaders = None
        if self.holder is not None and self.holder.principal is not principal:
            self.holder = None


Info = strawberry.Info[Context, None]
