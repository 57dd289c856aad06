"""``python -m bench.screenshot``: the README's screenshot, a campaign page on a 390 px phone.

Builds the site into a temporary folder, serves it with ``cchcc serve`` and photographs the first
campaign's landing page in Debian's Chromium, as the top of the page a resident sees after scanning
a poster. Writes ``docs/screenshot.png`` as a palette PNG kept under 150 KB.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.audit import BIN, ROOT, campaign_path, free_port, stop, wait_for

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
LIMIT = 150_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.screenshot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--height", type=int, default=1100, help="how much of the page to show, in CSS pixels")
    args = parser.parse_args(argv)

    from PIL import Image
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        subprocess.run([str(BIN / "cchcc"), "build", "--site-dir", str(site)], cwd=ROOT, check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen(
            [str(BIN / "cchcc"), "serve", "--port", str(port), "--site-dir", str(site)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(base + "/", server)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 390, "height": args.height}, device_scale_factor=1)
                page.goto(base + campaign_path())
                png = page.screenshot(full_page=False)
                browser.close()
        finally:
            stop(server)

    image = Image.open(io.BytesIO(png)).convert("RGB")
    for colours in (128, 64, 32):
        buf = io.BytesIO()
        image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(buf, format="PNG", optimize=True)
        if buf.tell() < LIMIT:
            break
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(buf.getvalue())
    print(f"{args.out.relative_to(ROOT)}: {image.width}x{image.height}, {buf.tell() // 1024} KB")
    return 0 if buf.tell() < LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
