"""The account's colours in the portal (theme.css): text on the primary colour and links
on the page keep WCAG AA contrast (4.5:1) whatever colour the account picks."""

from __future__ import annotations

import re

from services.mail.branding import contrast

UPDATE_ACCOUNT = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""
PAGE_BACKGROUND = "#F6F8FA"


BRANDS = ["#2F6FEB", "#737373", "#FFD400", "#00A3A3", "#000000", "#FFFFFF"]


async def test_brand_colours_stay_readable(gql, tenant, client):
    for brand in BRANDS:
        await gql.data(UPDATE_ACCOUNT, {"input": {"primaryColor": brand}}, token=tenant.admin)
        css = (await client.get("/portal/acme/theme.css")).text
        colours = dict(re.findall(r"--([a-z-]+):(#[0-9A-F]{6})", css))
        assert colours["primary"] == brand
        assert contrast(colours["on-primary"], colours["primary"]) >= 4.5, brand
        assert contrast(colours["link"], PAGE_BACKGROUND) >= 4.5, brand
        assert contrast(colours["link"], "#FFFFFF") >= 4.5, brand
