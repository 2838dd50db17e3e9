"""Profiles: what a caller's schema is cut to.

A profile is the principal kind, its role or scopes, the modules in force and a
read-only flag. Two callers with the same profile see the same schema, so schemas are
built per profile (not per caller) and cached. :meth:`Profile.allows` applies the
policy table to one field's ``@requires``; it is the only place that does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from auth.policy import POLICY, Permission
from auth.principals import (
    Anonymous,
    ContactPrincipal,
    PartnerPrincipal,
    Principal,
    StaffPrincipal,
)
from models.enums import ContactRole, Module, StaffRole

ALL_MODULES = frozenset(Module)


class ProfileKind(StrEnum):
    ANONYMOUS = "anonymous"
    STAFF = "staff"
    CONTACT = "contact"
    PARTNER = "partner"


@dataclass(frozen=True, slots=True)
class Profile:
    kind: ProfileKind
    staff_role: StaffRole | None = None
    contact_role: ContactRole | None = None
    scopes: frozenset[str] = frozenset()
    modules: frozenset[Module] = ALL_MODULES
    read_only: bool = False

    @property
    def authenticated(self) -> bool:
        return self.kind is not ProfileKind.ANONYMOUS

    def holds(self, permission: Permission) -> bool:
        grant = POLICY[permission]
        if self.kind is ProfileKind.STAFF:
            return self.staff_role in grant.staff
        if self.kind is ProfileKind.CONTACT:
            return self.contact_role in grant.contacts
        if self.kind is ProfileKind.PARTNER:
            return not grant.scopes.isdisjoint(self.scopes)
        return False

    def allows(self, permission: Permission | None, module: Module | None) -> bool:
        """Whether a field declared ``@requires(permission:, module:)`` exists for this
        profile.

        Staff see every module. For contacts and partners the field's module must be in
        force; for contacts, a guarded field of no particular module belongs to the
        client dashboard (``CLIENT_PORTAL``) and goes when the dashboard is off.
        """
        if not self.authenticated:
            return False
        if permission is not None and not self.holds(permission):
            return False
        if self.kind is ProfileKind.STAFF:
            return True
        if module is not None:
            return module in self.modules
        if self.kind is ProfileKind.CONTACT and permission is not None:
            return Module.CLIENT_PORTAL in self.modules
        return True

    @property
    def name(self) -> str:
        """A readable name (``contact-billing``, ``staff-admin``, ``partner``)."""
        parts: list[str] = [self.kind.value]
        if self.staff_role:
            parts.append(self.staff_role.value.lower())
        if self.contact_role:
            parts.append(self.contact_role.value.lower())
        if self.read_only:
            parts.append("readonly")
        return "-".join(parts)


_INTERNED: dict[Profile, Profile] = {}
_MAX_INTERNED = 10_000


def profile_for(principal: Principal) -> Profile:
    """The principal's profile, as one shared instance per distinct profile: a
    subscription compares the profile it was opened with to the one its credential has
    at each event, and equal profiles are then the same object (``is``, no field-by-field
    comparison for each of thousands of subscribers)."""
    profile = _profile_of(principal)
    interned = _INTERNED.get(profile)
    if interned is not None:
        return interned
    if len(_INTERNED) < _MAX_INTERNED:  # a handful in practice; never unbounded
        _INTERNED[profile] = profile
    return profile


def _profile_of(principal: Principal) -> Profile:
    if isinstance(principal, StaffPrincipal):
        return Profile(ProfileKind.STAFF, staff_role=principal.role)
    if isinstance(principal, ContactPrincipal):
        return Profile(
            ProfileKind.CONTACT,
            contact_role=principal.role,
            modules=principal.modules,
            read_only=principal.read_only,
        )
    if isinstance(principal, PartnerPrincipal):
        return Profile(ProfileKind.PARTNER, scopes=principal.scopes, modules=principal.modules)
    if not isinstance(principal, Anonymous):  # pragma: no cover - the union is exhaustive
        raise TypeError(f"unknown principal {principal!r}")
    return Profile(ProfileKind.ANONYMOUS, modules=frozenset())


PARTNER_READ_ALL = frozenset(
    {
        "clients:read",
        "invoices:read",
        "quotes:read",
        "payments:read",
        "credits:read",
        "subscriptions:read",
        "statements:read",
        "projects:read",
        "documents:read",
        "events:subscribe",
    }
)

STANDARD_PROFILES: dict[str, Profile] = {
    "anonymous": Profile(ProfileKind.ANONYMOUS, modules=frozenset()),
    **{
        f"staff-{role.value.lower()}": Profile(ProfileKind.STAFF, staff_role=role)
        for role in StaffRole
    },
    **{
        f"contact-{role.value.lower()}": Profile(ProfileKind.CONTACT, contact_role=role)
        for role in ContactRole
    },
    "contact-billing-readonly": Profile(
        ProfileKind.CONTACT, contact_role=ContactRole.BILLING, read_only=True
    ),
    "contact-billing-recurring-only": Profile(
        ProfileKind.CONTACT,
        contact_role=ContactRole.BILLING,
        modules=frozenset({Module.RECURRING_INVOICES}),
    ),
    "partner-invoices": Profile(
        ProfileKind.PARTNER, scopes=frozenset({"invoices:read", "events:subscribe"})
    ),
    "partner-all": Profile(ProfileKind.PARTNER, scopes=PARTNER_READ_ALL),
}
"""The profiles whose SDL is committed under ``schema/sdl/`` and checked by the tests."""
