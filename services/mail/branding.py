"""The account's look in a mail: its name, logo and colour, checked before they reach
HTML (a colour goes into a style attribute, a logo into an ``src``), and how it writes
money and dates (its locale and time zone)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.accounts import Account
from services.dates import DEFAULT_TIMEZONE
from services.money import DEFAULT_LOCALE

DEFAULT_NAME = "Portico"
DEFAULT_COLOR = "#2F6FEB"

_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


@dataclass(frozen=True, slots=True)
class Branding:
    name: str
    logo_url: str | None
    primary_color: str
    button_text_color: str
    """Black or white, whichever reads better on :attr:`primary_color`."""
    link_color: str
    """The brand colour for links on white, or a dark grey if the colour is too light."""
    locale: str = DEFAULT_LOCALE
    """How the mail writes money and dates (``de_DE``: ``1.234,50 €``, ``02.12.2026``)."""
    timezone: str = DEFAULT_TIMEZONE
    """Where the mail's times are shown (an IANA name)."""

    @classmethod
    def of(cls, account: Account | None) -> Branding:
        """The account's branding, or Portico's when there is no account. A colour that
        is not ``#rgb``/``#rrggbb`` and a logo that is not an http(s) URL are replaced by
        the defaults."""
        if account is None:
            return cls._make(DEFAULT_NAME, None, DEFAULT_COLOR)
        color = account.primary_color or ""
        if not _HEX_COLOR.fullmatch(color):
            color = DEFAULT_COLOR
        color = _expand(color).upper()
        logo = account.logo_url
        if not logo or not logo.lower().startswith(("https://", "http://")):
            logo = None
        return cls._make(
            account.name or DEFAULT_NAME,
            logo,
            color,
            locale=account.locale or DEFAULT_LOCALE,
            timezone=account.timezone or DEFAULT_TIMEZONE,
        )

    @classmethod
    def _make(
        cls,
        name: str,
        logo_url: str | None,
        color: str,
        *,
        locale: str = DEFAULT_LOCALE,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> Branding:
        text_color = _text_color_on(color)
        link_color = color if text_color == "#FFFFFF" else "#1F2328"
        return cls(name, logo_url, color, text_color, link_color, locale, timezone)


def _expand(color: str) -> str:
    if len(color) == 4:
        return "#" + "".join(digit * 2 for digit in color[1:])
    return color


def _luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(color: str, background: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    lighter, darker = sorted((_luminance(color), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_on(color: str, background: str, *, ratio: float = 4.5) -> str:
    """``color`` (``#rrggbb``), darkened in small steps, keeping its hue, until text in it
    reaches ``ratio`` against ``background`` (WCAG AA: 4.5); black at worst."""
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    while contrast(f"#{red:02X}{green:02X}{blue:02X}", background) < ratio:
        if red == green == blue == 0:
            break
        red, green, blue = (int(value * 0.95) for value in (red, green, blue))
    return f"#{red:02X}{green:02X}{blue:02X}"


def _text_color_on(color: str) -> str:
    luminance = _luminance(color)
    on_white = 1.05 / (luminance + 0.05)
    on_black = (luminance + 0.05) / 0.05
    return "#FFFFFF" if on_white >= on_black else "#000000"
