"""QR codes, poster PDFs and print packs in the built site."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import zxingcpp
from markupsafe import escape
from PIL import Image

from cchcc.site.campaigns import load_all
from tests.conftest import PROJECT

SAMPLES = load_all(PROJECT)
PLACEMENTS = [(c, p) for c in SAMPLES for p in c.placements]
IDS = [p.id for _, p in PLACEMENTS]
# ISO 216 sizes in PostScript points (1 pt = 1/72 inch), portrait.
PAGE_POINTS = {"poster-a3": (841.89, 1190.55), "poster-a4": (595.28, 841.89), "flyer-a5": (419.53, 595.28), "flyer-a6": (297.64, 419.53)}
DPI = 150


def decode(path: Path) -> list:
    return zxingcpp.read_barcodes(Image.open(path), formats=zxingcpp.BarcodeFormat.QRCode)


@pytest.mark.parametrize("campaign,placement", PLACEMENTS, ids=IDS)
def test_qr_png_decodes_to_the_short_url(site_build, campaign, placement):
    # When the PNG is scanned, then it reads <site_url>q/<id> with M (Q outdoors) error correction.
    codes = decode(site_build.site_dir / "print" / placement.id / "qr.png")
    assert [c.text for c in codes] == [f"{site_build.site_url}q/{placement.id}"]
    assert codes[0].ec_level == ("Q" if placement.outdoor else "M")


@pytest.mark.parametrize("campaign,placement", PLACEMENTS[:3], ids=IDS[:3])
def test_qr_has_a_four_module_quiet_zone(site_build, campaign, placement):
    png = Image.open(site_build.site_dir / "print" / placement.id / "qr.png").convert("L")
    code = decode(site_build.site_dir / "print" / placement.id / "qr.png")[0]
    left = code.position.top_left.x
    symbol = code.position.top_right.x - left
    # The quiet zone is what lies outside the symbol: 4 modules on every side.
    modules = round(symbol / 10)  # the PNG is drawn 10 px per module
    size = png.width
    assert left == 4 * 10 and size == (modules + 8) * 10
    assert png.crop((0, 0, size, left)).getextrema() == (255, 255), "the quiet zone is white"


@pytest.mark.parametrize("campaign,placement", PLACEMENTS, ids=IDS)
def test_qr_svg_is_vector_with_a_quiet_zone(site_build, campaign, placement):
    svg = ET.parse(site_build.site_dir / "print" / placement.id / "qr.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    _, _, width, height = (float(v) for v in svg.get("viewBox").split())
    paths = svg.findall("{http://www.w3.org/2000/svg}path")
    assert width == height and paths, "a square vector drawing"
    # The drawing starts 4 modules in from the edge (the quiet zone).
    first = re.match(r"M(\d+),(\d+)", paths[0].get("d"))
    assert first and int(first.group(1)) == 4 and int(first.group(2)) == 4
    assert not svg.findall(".//{http://www.w3.org/2000/svg}image"), "no embedded bitmaps"


def _page_size(pdf: Path) -> tuple[float, float]:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", out)
    assert m, out
    return float(m.group(1)), float(m.group(2))


@pytest.mark.parametrize("campaign,placement", PLACEMENTS, ids=IDS)
def test_poster_pdf_is_print_ready(site_build, campaign, placement, tmp_path):
    pdf = site_build.site_dir / "print" / placement.id / "poster.pdf"
    # Then the page is exactly the placement's paper size.
    width, height = _page_size(pdf)
    expected = PAGE_POINTS[placement.format]
    assert width == pytest.approx(expected[0], abs=0.5) and height == pytest.approx(expected[1], abs=0.5)
    # And its first page, rendered at 150 dpi, has a QR code that scans to the short URL.
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(tmp_path / "p")], check=True)
    codes = decode(tmp_path / "p.png")
    assert [c.text for c in codes] == [f"{site_build.site_url}q/{placement.id}"]
    # And the printed symbol is at least 2 cm wide, and a tenth of the viewing distance when given.
    pos = codes[0].position
    width_cm = (pos.top_right.x - pos.top_left.x) / DPI * 2.54
    assert width_cm >= 2.0 * 0.98
    if placement.viewing_distance_m:
        assert width_cm >= placement.viewing_distance_m * 10 * 0.98
    # And the words people need are on it: headline, scan line, the address to type, the partners.
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "Scan to find out about jobs in health and care" in flat
    assert f"jobs.example.org/q/{placement.id}" in flat
    for word in campaign.data.headline.split():
        assert word in flat
    assert "Leeds City Council" in flat


@pytest.mark.parametrize("campaign", SAMPLES, ids=lambda c: c.slug)
def test_print_pack_lists_every_placement_with_downloads(site_build, campaign):
    html = site_build.page(f"/campaigns/{campaign.slug}/print/")
    for placement in campaign.placements:
        assert f'id="{placement.id}"' in html
        assert placement.name in html
        assert f"<dd>{placement.copies}</dd>" in html
        if placement.location:
            assert str(escape(placement.location)) in html
        for name in ("poster.pdf", "qr.svg", "qr.png", "preview.png"):
            assert f"../../../print/{placement.id}/{name}" in html
            assert (site_build.site_dir / "print" / placement.id / name).stat().st_size > 0
