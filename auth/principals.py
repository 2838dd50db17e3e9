"""Who is calling: one frozen dataclass per principal kind."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from models.enums import ContactRole, Module, StaffRole


@dataclass(frozen=True, slots=True)
class Anonymous:
    """No credentials: public branding, sign-in, magic links, registration."""


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    account_id: uuid.UUID
    user_id: uuid.UUID
    role: StaffRole
    session_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class ContactPrincipal:
    """A client's contact. ``modules`` are those in force for its client; ``read_only``
    marks staff viewing the portal as this contact (``viewer_staff_id``)."""

    account_id: uuid.UUID
    contact_id: uuid.UUID
    client_id: uuid.UUID
    role: ContactRole
    modules: frozenset[Module]
    session_id: uuid.UUID
    read_only: bool = False
    viewer_staff_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class PartnerPrincipal:
    """An API token. ``registered_documents_only``: its account runs partner requests
    from registered documents only (``Account.partner_documents``, read when the token
    is authenticated: per request on HTTP, at ``connection_init`` on a WebSocket)."""

    account_id: uuid.UUID
    token_id: uuid.UUID
    scopes: frozenset[str]
    modules: frozenset[Module] = field(default_factory=frozenset)
    registered_documents_only: bool = False


Principal = Anonymous | StaffPrincipal | ContactPrincipal | PartnerPrincipal
AuthenticatedPrincipal = StaffPrincipal | ContactPrincipal | PartnerPrincipal
