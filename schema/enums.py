"""Enums that the types of several domain modules use, registered with Strawberry once,
before any type that names them is declared (Strawberry resolves a type's fields when
the class is decorated: an enum met there before its registration would be registered
twice). Domain modules import them from here."""

from __future__ import annotations

import strawberry

from models.enums import Frequency, PartnerDocuments

strawberry.enum(Frequency, description="How often a recurring invoice or pre-payment repeats.")
strawberry.enum(PartnerDocuments, description="Which documents partner API tokens may run.")

__all__ = ["Frequency", "PartnerDocuments"]
