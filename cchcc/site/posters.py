"""Print-ready posters and flyers: Jinja2 HTML/CSS rendered to PDF by WeasyPrint.

One PDF per placement (and per event), at the exact page size of its format (A3/A4 posters,
A5/A6 flyers), with the headline, one line of copy, the QR code (printed at least 2 cm wide
and at least a tenth of the viewing distance), the short address under it for people who
cannot scan, the programme's phone number for people without a smartphone, a strapline in
each of the campaign's ``languages:``, and the partner names.

Only local fonts and inline images are used: nothing is fetched. Each language's strapline is
set in a font that covers its script (Noto Nastaliq Urdu for Urdu, from Debian's
fonts-noto-core; DejaVu Sans for Latin scripts), found with fontconfig and checked glyph by
glyph with fontTools before anything is drawn, so a missing font stops the build with a clear
message instead of printing empty boxes. WeasyPrint shapes the text with HarfBuzz (joined
letters, right-to-left) and embeds the fonts it uses.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cchcc.site.qr import QRCode, printed_url
from hub import i18n
from hub.i18n import N_

TEMPLATES = Path(__file__).parent / "templates" / "print"
SCAN_LINE = "Scan to find out about jobs in health and care"
STRAPLINE = N_("Scan the code, then choose %(language)s at the top of the page.")
LATIN_FONT = "DejaVu Sans"
# The typeface for a script, first choice first; any installed font that covers the text is the
# fallback. Urdu is often printed in Nastaliq, but a Nastaliq PDF's text cannot be read back out
# (pdftotext, screen readers, copy and paste get broken letters), so posters use Naskh, which
# Urdu readers read easily and whose text extracts exactly.
PREFERRED_FONTS = {
    "ur": ("Noto Naskh Arabic", "Noto Nastaliq Urdu"),
    "ar": ("Noto Naskh Arabic", "Noto Sans Arabic"),
    "fa": ("Noto Naskh Arabic", "Noto Sans Arabic"),
}
FONT_PACKAGE = "fonts-noto-core"  # Debian's package with the Noto fonts for the main scripts
# Type scale relative to A4. Smaller papers shrink less than the paper, so flyers stay readable.
SCALE = {"A3": 1.38, "A4": 1.0, "A5": 0.78, "A6": 0.62}


class FontMissingError(Exception):
    """No installed font covers the words a poster must print. The message says what to install."""


@dataclass(frozen=True)
class Strapline:
    """One language's line on a poster, with the font that draws it."""

    code: str
    direction: str
    text: str
    font: str


@dataclass(frozen=True)
class PosterWords:
    """Everything a poster says besides its QR code: plain, picklable data for a worker process."""

    kicker: str
    headline: str
    summary: str
    free: str
    details: tuple[str, ...]  # an event's date and place
    phone: str
    partners: tuple[str, ...]
    straplines: tuple[Strapline, ...] = ()
    local_url: str = ""  # set for a local build: the poster says not to print it


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )


def template_fingerprint() -> str:
    """Text of every print template, so a template change invalidates cached PDFs."""
    return "".join(p.read_text(encoding="utf-8") for p in sorted(TEMPLATES.glob("*")) if p.is_file())


# --- fonts ----------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _font_files(family: str) -> tuple[str, ...]:
    """Installed files of a font family (fontconfig), regular faces first."""
    tool = shutil.which("fc-list")
    if tool is None:
        raise FontMissingError("posters: fontconfig's fc-list is not installed (apt-get install fontconfig)")
    out = subprocess.run([tool, f":family={family}", "file", "style"], capture_output=True, text=True, timeout=30)
    rows = [line.split(":", 1) for line in out.stdout.splitlines() if ":" in line]
    rows.sort(key=lambda row: ("Regular" not in row[1] and "Book" not in row[1], row[0]))
    return tuple(row[0].strip() for row in rows)


@lru_cache(maxsize=None)
def _cmap(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=0, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def _covers(family: str, text: str) -> bool:
    needed = {ord(c) for c in text if not c.isspace() and c not in "\u2066\u2067\u2068\u2069"}
    return any(needed <= _cmap(path) for path in _font_files(family))


@lru_cache(maxsize=None)
def _families_for(code: str) -> tuple[str, ...]:
    """Installed families fontconfig says cover a language, for the fallback."""
    tool = shutil.which("fc-list")
    if tool is None:
        return ()
    out = subprocess.run([tool, f":lang={code}", "family"], capture_output=True, text=True, timeout=30)
    return tuple(sorted({line.split(",")[0].strip() for line in out.stdout.splitlines() if line.strip()}))


def font_for(code: str, text: str) -> str:
    """The font family to print ``text`` (in language ``code``) with. Raises FontMissingError."""
    language = i18n.language(code)
    candidates = [*PREFERRED_FONTS.get(code, ()), LATIN_FONT, *_families_for(code)]
    if language.direction == "rtl":
        candidates.remove(LATIN_FONT)  # DejaVu has Arabic letters but not the shapes people read
    for family in dict.fromkeys(candidates):
        if _font_files(family) and _covers(family, text):
            return family
    wanted = " or ".join(PREFERRED_FONTS.get(code, (LATIN_FONT,)))
    raise FontMissingError(
        f"posters: no installed font can print {language.english_name} ({code}); install {wanted} "
        f"(Debian: apt-get install {FONT_PACKAGE}, which `make test` and `make serve` do as root) "
        "or take the language out of the campaign's languages:"
    )


def straplines(codes: list[str]) -> tuple[Strapline, ...]:
    """The strapline in each language, with a font checked to cover it."""
    lines = []
    for code in codes:
        language = i18n.language(code)
        text = i18n.translator(code)(STRAPLINE, language=language.name)
        lines.append(Strapline(code, language.direction, text, font_for(code, text)))
    return tuple(lines)


def check_latin(words: PosterWords) -> None:
    """The English words (and names) must be in the Latin font too."""
    text = " ".join([words.kicker, words.headline, words.summary, words.free, *words.details, *words.partners])
    font_for(i18n.DEFAULT, text)


# --- the poster -----------------------------------------------------------------------------------


def qr_image_mm(qr_mm: float, code: QRCode) -> float:
    """Printed width of the QR image including its quiet zone, so the symbol itself is ``qr_mm``."""
    return qr_mm * code.modules_with_quiet_zone / code.modules


# Type sizes to try, largest first, until every word fits on the page around the QR code (which
# never shrinks): a big outdoor code on A3 leaves less room for the words than an A4 notice does.
FITS = (1.0, 0.92, 0.85, 0.78, 0.72, 0.66)


class PosterTooFullError(Exception):
    """The words do not fit around the QR code even in the smallest type."""


def poster_html(words: PosterWords, paper, qr_mm: float, code: QRCode, placement_id: str, fit: float = 1.0) -> str:
    return environment().get_template("poster.html").render(
        words=words,
        placement_id=placement_id,
        paper=paper,
        scale=SCALE[paper.paper] * fit,
        qr_src="data:image/svg+xml;base64," + base64.b64encode(code.svg).decode("ascii"),
        qr_mm=round(qr_image_mm(qr_mm, code), 2),
        short_url=printed_url(code.url),
        scan_line=SCAN_LINE,
        latin_font=LATIN_FONT,
    )


def _fetcher():
    """A URL fetcher that only allows inline ``data:`` URLs: a poster never reaches the network."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # older WeasyPrint: templates only use data: URLs anyway
        return None
    return URLFetcher(allowed_protocols={"data"})


def _document(html: str):
    from weasyprint import HTML

    fetcher = _fetcher()
    kwargs = {"url_fetcher": fetcher} if fetcher is not None else {}
    return HTML(string=html, base_url=str(TEMPLATES), **kwargs).render()


def _fits(document) -> bool:
    """One page, and the marker after the last words (``id="end"``) is on it."""
    if len(document.pages) != 1:
        return False
    page = document.pages[0]
    end = page.anchors.get("end")
    return end is not None and end[1] <= page.height + 0.5


def render_poster(words: PosterWords, paper, qr_mm: float, code: QRCode, placement_id: str) -> bytes:
    """The poster as PDF, its type as large as lets every word fit. Raises PosterTooFullError."""
    for fit in FITS:
        document = _document(poster_html(words, paper, qr_mm, code, placement_id, fit))
        if _fits(document):
            return document.write_pdf()
    raise PosterTooFullError(
        f"the words do not fit around a {qr_mm / 10:g} cm QR code on {paper.paper} even in small type; "
        "choose a bigger format, a shorter viewing distance, or fewer languages"
    )


def render_pdf(html: str) -> bytes:
    return _document(html).write_pdf()


def preview_png(pdf: bytes, width_px: int = 320) -> bytes | None:
    """A small PNG of the first page for the print pack, or None when pdftoppm is not installed."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "poster.pdf"
        src.write_bytes(pdf)
        subprocess.run(
            [tool, "-png", "-singlefile", "-f", "1", "-l", "1", "-scale-to-x", str(width_px), "-scale-to-y", "-1",
             str(src), str(Path(tmp) / "preview")],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return (Path(tmp) / "preview.png").read_bytes()
