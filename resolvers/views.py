"""Small read-only views that give rows what their GraphQL type needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A line item with its document's currency (lines do not store one), so its amounts
    can be shown at the currency's precision. Other attributes come from the line."""

    line: Any
    currency: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.line, name)
