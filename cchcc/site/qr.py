"""QR codes for placements: a vector SVG for print and a PNG for previews.

Each code encodes ``<site_url>q/<placement-id>``: a short, permanent address whose
redirect can be changed after a campaign ends, because posters cannot be reprinted.
Error correction is M, or Q for outdoor placements (rain, dirt, stickers).
The quiet zone is the 4 modules the standard asks for.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import qrcode
import qrcode.constants
import qrcode.image.pil
import qrcode.image.svg

QUIET_ZONE = 4
LEVELS = {"M": qrcode.constants.ERROR_CORRECT_M, "Q": qrcode.constants.ERROR_CORRECT_Q}


def short_url(site_url: str, placement_id: str) -> str:
    """The address a QR code encodes: ``<site_url>q/<placement-id>``."""
    base = site_url if site_url.endswith("/") else site_url + "/"
    return f"{base}q/{placement_id}"


def is_local(site_url: str) -> bool:
    """True when codes made for ``site_url`` would open this computer, not the public site."""
    from urllib.parse import urlsplit

    host = (urlsplit(site_url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.") or host.endswith(".localhost")


def printed_url(url: str) -> str:
    """The same address as people type it: no ``https://``."""
    return url.split("://", 1)[-1]


def level_for(outdoor: bool) -> str:
    return "Q" if outdoor else "M"


@dataclass(frozen=True)
class QRCode:
    url: str
    level: str
    modules: int  # symbol width in modules, without the quiet zone
    svg: bytes
    png: bytes

    @property
    def modules_with_quiet_zone(self) -> int:
        return self.modules + 2 * QUIET_ZONE


def _make(url: str, level: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=LEVELS[level], border=QUIET_ZONE, box_size=10)
    code.add_data(url)
    code.make(fit=True)
    return code


def make(url: str, level: str = "M", png_box: int = 10) -> QRCode:
    """Build the SVG (vector, black on white) and PNG forms of one QR code."""
    if level not in LEVELS:
        raise ValueError(f"unknown error correction level {level!r}; use M or Q")
    code = _make(url, level)
    svg = code.make_image(image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")
    # A white background so the quiet zone survives on coloured paper and dark pages.
    svg = svg.replace(
        'xmlns="http://www.w3.org/2000/svg">',
        'xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#fff"/>',
        1,
    )
    code.box_size = png_box
    out = io.BytesIO()
    code.make_image(image_factory=qrcode.image.pil.PilImage).save(out, format="PNG")
    return QRCode(url=url, level=level, modules=code.modules_count, svg=svg.encode("utf-8"), png=out.getvalue())
