"""What every Portico PDF shares: the account's branding band, safe text, amounts and
tables, on fpdf2.

Text: the PDFs use fpdf2's built-in Helvetica, which needs no font file (Portico ships
none and must not depend on fonts installed on the host). Built-in fonts cover the
Windows-1252 character set (Western European letters, curly quotes, dashes, the euro
sign); :func:`pdf_text` keeps those, turns other accented letters into their base letter
(``ő`` -> ``o``, ``Ł`` -> ``L``) and anything else (``日本``) into ``?``, so no name or
description can make rendering fail. Embedding a Unicode TTF would need a font bundled
in the package (fpdf2 ships none); this is the place to add one.

Logos: the logo uploaded in the portal settings (read from storage, local or S3: PNG,
JPEG or WebP), else a ``logoUrl`` that is a ``data:`` URI (PNG, JPEG or GIF) or a file
inside the upload directory. A remote ``http(s)`` logo is never fetched while rendering
(it would make every download wait on, and reveal itself to, another server); the
account's name stands in.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import structlog
from fpdf import FPDF

from models.accounts import Account
from models.clients import Client
from services.money import format_money
from services.storage.base import Storage, StoredFileMissing

log = structlog.get_logger("portico.pdf")

CORE_FONTS_ENCODING = "cp1252"
FONT = "helvetica"
DEFAULT_COLOR = (47, 111, 235)
MAX_LOGO_BYTES = 1_000_000
LOGO_TYPES = {"image/png", "image/jpeg", "image/gif"}
LOGO_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif"}
BAND_HEIGHT = 26.0
TABLE_LINE = 4.6
TABLE_PADDING = 1.4
_DATA_URI = re.compile(
    r"^data:(?P<type>[\w/+.-]+)(?P<params>(;[\w=.-]+)*);base64,(?P<data>.*)$", re.S
)
_NO_DECOMPOSITION = {
    "\N{LATIN CAPITAL LETTER L WITH STROKE}": "L",
    "\N{LATIN SMALL LETTER L WITH STROKE}": "l",
    "\N{LATIN CAPITAL LETTER D WITH STROKE}": "D",
    "\N{LATIN SMALL LETTER D WITH STROKE}": "d",
    "\N{LATIN CAPITAL LETTER H WITH STROKE}": "H",
    "\N{LATIN SMALL LETTER H WITH STROKE}": "h",
    "\N{LATIN SMALL LETTER DOTLESS I}": "i",
}
"""Letters that have no Unicode decomposition but an obvious base letter."""
_COLOR = re.compile(r"^#?([0-9a-fA-F]{6})$")


def pdf_text(value: object) -> str:
    """``value`` as text the built-in fonts can draw (see the module's docstring)."""
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\t", " ")
    out: list[str] = []
    for char in text:
        if char == "\n" or (char.isprintable() and _encodable(char)):
            out.append(char)
            continue
        if not char.isprintable():
            out.append(" " if unicodedata.category(char) == "Zs" else "")
            continue
        if char in _NO_DECOMPOSITION:
            out.append(_NO_DECOMPOSITION[char])
            continue
        base = "".join(
            part
            for part in unicodedata.normalize("NFKD", char)
            if not unicodedata.combining(part) and _encodable(part)
        )
        out.append(base or "?")
    return "".join(out)


def _encodable(char: str) -> bool:
    try:
        char.encode(CORE_FONTS_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def format_amount(amount: Decimal, currency: str) -> str:
    """An amount in a PDF: :func:`~services.money.format_money` without the currency
    sign (``1234.5`` USD -> ``1,234.50``). Every PDF names its currency (the "Currency"
    fact and each total's label), and the built-in fonts cannot draw every sign (``₹``,
    ``₩``, ``₪`` would print as ``?``)."""
    return format_money(amount, currency, symbol=False)


def format_number(value: Decimal) -> str:
    """A quantity or a rate without trailing zeros: ``3.0000`` -> ``3``, ``8.8750`` -> ``8.875``."""
    return f"{value.normalize():f}"


def format_date(value: date | None) -> str:
    return value.isoformat() if value else "-"


@dataclass(frozen=True, slots=True)
class Branding:
    name: str
    color: tuple[int, int, int]
    logo: bytes | None = None


@dataclass(frozen=True, slots=True)
class Party:
    """Who a document is addressed to."""

    name: str
    company: str | None = None
    email: str | None = None
    address: str | None = None

    @classmethod
    def of(cls, client: Client) -> Party:
        return cls(client.name, client.company, client.email, client.address)

    def lines(self) -> list[str]:
        lines = [self.name]
        if self.company and self.company != self.name:
            lines.append(self.company)
        if self.address:
            lines.extend(line for line in self.address.splitlines() if line.strip())
        if self.email:
            lines.append(self.email)
        return lines


def parse_color(value: str | None) -> tuple[int, int, int]:
    match = _COLOR.match((value or "").strip())
    if match is None:
        return DEFAULT_COLOR
    raw = match.group(1)
    return int(raw[0:2], 16), int(raw[2:4], 16), int(raw[4:6], 16)


def branding_of(account: Account, *, upload_dir: Path) -> Branding:
    """The account's branding with the logo its ``logoUrl`` names (see :func:`branding_for`
    for the uploaded one)."""
    return Branding(
        name=account.name,
        color=parse_color(account.primary_color),
        logo=load_logo(account.logo_url, upload_dir=upload_dir),
    )


async def branding_for(
    account: Account, *, upload_dir: Path, storage: Storage | None = None
) -> Branding:
    """The account's branding with its uploaded logo when it has one (read from
    ``storage``), else the logo its ``logoUrl`` names."""
    branding = branding_of(account, upload_dir=upload_dir)
    if account.logo_key is None or storage is None:
        return branding
    logo = await stored_logo(storage, account.logo_key)
    return Branding(branding.name, branding.color, logo) if logo is not None else branding


async def stored_logo(storage: Storage, key: str) -> bytes | None:
    """The uploaded logo's bytes (at most :data:`MAX_LOGO_BYTES`; uploads are checked
    smaller still), ``None`` when it is gone or too large."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in storage.stream(key):
            size += len(chunk)
            if size > MAX_LOGO_BYTES:
                log.warning("pdf.logo_too_large", key=key)
                return None
            chunks.append(chunk)
    except StoredFileMissing:
        log.warning("pdf.logo_missing", key=key)
        return None
    return b"".join(chunks)


def load_logo(logo_url: str | None, *, upload_dir: Path) -> bytes | None:
    """The logo's bytes when it is a ``data:`` URI or a file in ``upload_dir``; ``None``
    otherwise (remote URLs are never fetched here)."""
    if not logo_url:
        return None
    url = logo_url.strip()
    if url.startswith("data:"):
        return _data_uri_logo(url)
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
    elif parsed.scheme == "" and not parsed.netloc:
        path = Path(unquote(url))
    else:
        return None
    return _file_logo(path, upload_dir)


def _data_uri_logo(url: str) -> bytes | None:
    match = _DATA_URI.match(url)
    if match is None or match.group("type").lower() not in LOGO_TYPES:
        return None
    if len(match.group("data")) > MAX_LOGO_BYTES * 4 // 3 + 4:
        return None
    try:
        return base64.b64decode(match.group("data"), validate=True)
    except (binascii.Error, ValueError):
        return None


def _file_logo(path: Path, upload_dir: Path) -> bytes | None:
    root = upload_dir.resolve()
    try:
        resolved = (path if path.is_absolute() else root / path).resolve()
        if not resolved.is_relative_to(root) or resolved.suffix.lower() not in LOGO_SUFFIXES:
            return None
        if not resolved.is_file() or resolved.stat().st_size > MAX_LOGO_BYTES:
            return None
        return resolved.read_bytes()
    except OSError:
        return None


def _text_color_on(color: tuple[int, int, int]) -> tuple[int, int, int]:
    red, green, blue = color
    luminance = (0.299 * red + 0.587 * green + 0.114 * blue) / 255
    return (17, 17, 17) if luminance > 0.6 else (255, 255, 255)


class BrandedPDF(FPDF):
    """An A4 page with the account's colour band (logo or name, document title) on every
    page and page numbers at the foot."""

    def __init__(self, branding: Branding, *, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = CORE_FONTS_ENCODING
        self.branding = branding
        self.document_title = title
        self._logo = branding.logo
        self.set_title(pdf_text(f"{title} - {branding.name}"))
        self.set_author(pdf_text(branding.name))
        self.set_creator("Portico")
        self.set_margins(15, BAND_HEIGHT + 10, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_font(FONT, size=10)
        self.add_page()

    # --- page furniture -------------------------------------------------------------

    def header(self) -> None:
        color = self.branding.color
        ink = _text_color_on(color)
        self.set_fill_color(*color)
        self.rect(0, 0, self.w, BAND_HEIGHT, style="F")
        name_x = 15.0
        if self._logo is not None:
            try:
                info = self.image(io.BytesIO(self._logo), x=15, y=5, h=BAND_HEIGHT - 10)
                name_x = 15 + float(info.rendered_width) + 5
            except Exception:  # any undecodable logo: the name stands in
                log.warning("pdf.logo_unreadable", account=self.branding.name)
                self._logo = None
        self.set_text_color(*ink)
        self.set_xy(name_x, 8)
        self.set_font(FONT, "B", 15)
        self.cell(110 - name_x + 15, 10, pdf_text(self.branding.name))
        self.set_xy(self.w - 15 - 80, 8)
        self.set_font(FONT, "B", 13)
        self.cell(80, 10, pdf_text(self.document_title), align="R")
        self.set_text_color(0, 0, 0)
        self.set_font(FONT, size=10)
        self.set_xy(self.l_margin, BAND_HEIGHT + 10)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 6, f"Page {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0, 0, 0)

    # --- blocks ---------------------------------------------------------------------

    def address_and_facts(
        self, heading: str, party: Party, facts: Sequence[tuple[str, str]]
    ) -> None:
        """``party`` on the left under ``heading``, label/value ``facts`` on the right."""
        top = self.get_y()
        self.set_font(FONT, "B", 9)
        self.set_text_color(110, 110, 110)
        self.cell(90, 5, pdf_text(heading.upper()), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        for index, line in enumerate(party.lines()):
            self.set_font(FONT, "B" if index == 0 else "", 10)
            self.multi_cell(90, 5, pdf_text(line), new_x="LMARGIN", new_y="NEXT")
        left_bottom = self.get_y()
        self.set_y(top)
        for label, value in facts:
            self.set_x(self.w - self.r_margin - 80)
            self.set_font(FONT, "B", 10)
            self.cell(35, 5.5, pdf_text(label))
            self.set_font(FONT, "", 10)
            self.cell(45, 5.5, pdf_text(value), align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_y(max(left_bottom, self.get_y()) + 6)

    def table_of(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        widths: Sequence[float],
        aligns: Sequence[str],
        bold_rows: Sequence[int] = (),
    ) -> None:
        """A table across the page (``widths`` are relative) with a heading row in the
        brand colour; long cells wrap, and a page break repeats the headings.

        Drawn with plain cells rather than fpdf2's ``table()``: a statement can hold
        thousands of rows, and this is several times faster on them."""
        scale = self.epw / sum(widths)
        columns = [
            (width * scale, align[0].upper()) for width, align in zip(widths, aligns, strict=True)
        ]
        self._table_row([pdf_text(text) for text in headings], columns, heading=True)
        for index, row in enumerate(rows):
            cells = [pdf_text(text) for text in row]
            self._table_row(cells, columns, bold=index in bold_rows, headings=headings)
        self.set_font(FONT, size=10)
        self.ln(4)

    def _wrapped(self, text: str, width: float) -> list[str]:
        if "\n" not in text and self.get_string_width(text) <= width:
            return [text]
        lines = self.multi_cell(width, TABLE_LINE, text, dry_run=True, output="LINES", padding=0)
        if not isinstance(lines, list):  # pragma: no cover - output="LINES" gives the lines
            return [text]
        return lines or [""]

    def _table_row(
        self,
        cells: Sequence[str],
        columns: Sequence[tuple[float, str]],
        *,
        heading: bool = False,
        bold: bool = False,
        headings: Sequence[str] = (),
    ) -> None:
        self.set_font(FONT, "B" if heading or bold else "", 9)
        wrapped = [
            self._wrapped(text, width - 2 * TABLE_PADDING)
            for text, (width, _) in zip(cells, columns, strict=True)
        ]
        height = max(len(lines) for lines in wrapped) * TABLE_LINE + 2 * TABLE_PADDING
        if not heading and self.will_page_break(height):
            self.add_page()
            self._table_row([pdf_text(text) for text in headings], columns, heading=True)
            self.set_font(FONT, "B" if bold else "", 9)
        top, left = self.get_y(), self.l_margin
        if heading:
            self.set_fill_color(*self.branding.color)
            self.rect(left, top, self.epw, height, style="F")
            self.set_text_color(*_text_color_on(self.branding.color))
        x = left
        for lines, (width, align) in zip(wrapped, columns, strict=True):
            for number, line in enumerate(lines):
                self.set_xy(x + TABLE_PADDING, top + TABLE_PADDING + number * TABLE_LINE)
                self.cell(width - 2 * TABLE_PADDING, TABLE_LINE, line, align=align)
            x += width
        self.set_text_color(0, 0, 0)
        self.set_draw_color(205, 205, 205)
        self.line(left, top + height, left + self.epw, top + height)
        self.set_xy(left, top + height)

    def totals(self, rows: Sequence[tuple[str, str]], *, emphasis: Sequence[str] = ()) -> None:
        """Label/amount pairs right-aligned under a table; labels in ``emphasis`` bold."""
        for label, value in rows:
            style = "B" if label in emphasis else ""
            self.set_x(self.w - self.r_margin - 90)
            self.set_font(FONT, style, 10)
            self.cell(55, 6, pdf_text(label), align="R")
            self.cell(35, 6, pdf_text(value), align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, size=10)
        self.ln(4)

    def subtitle(self, text: str) -> None:
        self.set_font(FONT, "B", 12)
        self.multi_cell(0, 6, pdf_text(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, size=10)
        self.ln(2)

    def section(self, heading: str, text: str | None) -> None:
        if not text or not text.strip():
            return
        self.set_font(FONT, "B", 10)
        self.cell(0, 6, pdf_text(heading), new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 9)
        self.multi_cell(0, 4.8, pdf_text(text.strip()), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def to_bytes(self) -> bytes:
        return bytes(self.output())


def percent(value: Decimal) -> str:
    return f"{format_number(value)}%"


def line_cells(line: Any, currency: str) -> list[str]:
    """Description, quantity, unit price, discount, tax and total of an invoice or quote
    line."""
    discount = "-"
    if line.line_discount:
        discount = (
            f"{format_amount(line.line_discount, currency)} ({percent(line.discount_percent)})"
        )
    tax = "-"
    if line.line_tax or line.tax_rate:
        name = f" {line.tax_name}" if line.tax_name else ""
        tax = f"{format_amount(line.line_tax, currency)} ({percent(line.tax_rate)}{name})"
    return [
        line.description,
        format_number(line.quantity),
        format_amount(line.unit_price, currency),
        discount,
        tax,
        format_amount(line.line_total, currency),
    ]


LINE_HEADINGS = ("Description", "Qty", "Unit price", "Discount", "Tax", "Total")
LINE_WIDTHS = (60, 12, 24, 24, 34, 26)
LINE_ALIGNS = ("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")
