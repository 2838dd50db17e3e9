"""The portal in a real browser: the system's Chromium under Playwright, and axe-core
(npm, pinned, installed into ``var/node/``) checking a page against WCAG 2.1 AA.

axe is put into the page with ``page.evaluate`` (DevTools' ``Runtime.evaluate``), which a
page's Content-Security-Policy does not govern, so the pages keep their strict CSP (no
``bypass_csp``): a ``<script>`` element with axe inline, as ``add_script_tag(content=…)``
makes, would be refused by ``script-src 'self'``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

from tests.node_packages import npm_available, npm_package

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_CHROMIUM = "no Chromium at /usr/bin/chromium (apt-get install -y chromium; .ci/run does)"
NO_AXE = "needs Node.js and npm to install axe-core for the WCAG 2.1 AA checks"

AXE_CORE = "axe-core@4.10.3"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless Chromium (the system's; Playwright downloads nothing)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@cache
def axe_source() -> str:
    return (npm_package(AXE_CORE) / "axe.min.js").read_text(encoding="utf-8")


def axe_ready() -> bool:
    return npm_available()


async def axe_violations(page: Any, *, exclude: tuple[str, ...] = ()) -> list[str]:
    """The WCAG 2.1 A/AA violations axe finds on the page as shown, one line per rule
    and element (``exclude``: CSS selectors of third-party parts, such as Stripe's)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source())
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    context = {"exclude": [[selector] for selector in exclude]} if exclude else None
    result = await page.evaluate(
        "([context, options]) => axe.run(context || document, options)", [context, options]
    )
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']} {node['failureSummary']}"
        for violation in result["violations"]
        for node in violation["nodes"]
    ]


async def assert_accessible(page: Any, *, exclude: tuple[str, ...] = ()) -> None:
    violations = await axe_violations(page, exclude=exclude)
    assert not violations, f"axe on {page.url}:\n" + "\n".join(violations)
    # and nothing runs off a phone's screen sideways
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls {overflow}px sideways"
