"""Print-ready posters and flyers: Jinja2 HTML/CSS rendered to PDF by WeasyPrint.

One PDF per placement, at the exact page size of its format (A3/A4 posters,
A5/A6 flyers), with the headline, one line of copy, the QR code (printed at
least 2 cm wide and at least a tenth of the viewing distance), the short
address under it for people who cannot scan, and the partner names.
Only local fonts (DejaVu) and inline images are used: nothing is fetched.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cchcc.site.campaigns import Campaign, Placement
from cchcc.site.qr import QRCode, printed_url

TEMPLATES = Path(__file__).parent / "templates" / "print"
SCAN_LINE = "Scan to find out about jobs in health and care"
# Type scale relative to A4. Smaller papers shrink less than the paper, so flyers stay readable.
SCALE = {"A3": 1.38, "A4": 1.0, "A5": 0.78, "A6": 0.62}


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


def qr_image_mm(placement: Placement, code: QRCode) -> float:
    """Printed width of the QR image including its quiet zone, so the symbol itself is ``qr_mm``."""
    return placement.qr_mm * code.modules_with_quiet_zone / code.modules


def poster_html(campaign: Campaign, placement: Placement, code: QRCode, partners: list[str], site_name: str) -> str:
    paper = placement.paper
    return environment().get_template("poster.html").render(
        campaign=campaign.data,
        placement=placement,
        paper=paper,
        scale=SCALE[paper.paper],
        qr_src="data:image/svg+xml;base64," + base64.b64encode(code.svg).decode("ascii"),
        qr_mm=round(qr_image_mm(placement, code), 2),
        short_url=printed_url(code.url),
        scan_line=SCAN_LINE,
        partners=partners,
        site_name=site_name,
    )


def _fetcher():
    """A URL fetcher that only allows inline ``data:`` URLs: a poster never reaches the network."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # older WeasyPrint: templates only use data: URLs anyway
        return None
    return URLFetcher(allowed_protocols={"data"})


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML

    fetcher = _fetcher()
    kwargs = {"url_fetcher": fetcher} if fetcher is not None else {}
    return HTML(string=html, base_url=str(TEMPLATES), **kwargs).write_pdf()


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
