"""The process's settings, read once from the environment."""

from __future__ import annotations

from functools import lru_cache

from services.config import Settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (tests build their own :class:`Settings` instead)."""
    return Settings()
