"""The thanks page with the visitor's reference in it, with or without JavaScript.

After a form post without JavaScript the intake function answers ``303
Location: /thanks/?ref=<reference>``. CloudFront sends ``GET /thanks/`` to the
intake function too, which serves the built thanks page with the reference
filled in, so the page shows it whether or not the browser runs ``cchcc.js``.

The site build writes the reference box with :func:`reference_box` (no
reference): it sits between ``<!--cchcc:reference-->`` and
``<!--/cchcc:reference-->``. :func:`fill` swaps exactly that part for the same
box with the reference in it; every other byte of the page (its inline scripts,
whose hashes the Content-Security-Policy lists, included) stays as built. Only a
string that is a valid reference is ever put in, and it is HTML-escaped.

The page is ``settings.thanks_page``: ``thanks.html`` in the Lambda task root
(``functions/Makefile`` copies ``build/site/thanks/index.html`` there), or the file
the local stack names. When there is none, or it has no reference box,
:func:`fallback_page` renders a short page that still shows the reference and what
happens next: this never fails a request.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from hub import references

if TYPE_CHECKING:
    from hub.config import Programme

log = logging.getLogger(__name__)

START = "<!--cchcc:reference-->"
END = "<!--/cchcc:reference-->"
MISSING = "We cannot show your reference on this page. If the form did not show an error, we have your details."
PATTERN = f"^[{references.ALPHABET}]{{4}}-[{references.ALPHABET}]{{4}}$"  # for cchcc.js (data-pattern)
_MAX_REF_INPUT = 32  # a reference typed with spaces is 11 characters; anything much longer is not one


def valid_reference(raw: str | None) -> str | None:
    """The reference in ``raw`` (tidied: case, spaces, dash), or None when it is not one."""
    if not raw or len(raw) > _MAX_REF_INPUT:
        return None
    reference = references.normalise_reference(raw)
    return reference if reference is not None and references.is_reference(reference) else None


def reference_box(reference: str | None = None) -> str:
    """The reference box, markers included: empty (as built) or showing a valid reference."""
    from hub import render  # Jinja2 escapes what it puts in

    if reference is not None and not references.is_reference(reference):
        raise ValueError("not a reference")
    return render.render("reference_box.html", pattern=PATTERN, reference=reference, missing=MISSING)


def has_box(page: str) -> bool:
    """True when the page has exactly one reference box to fill."""
    start = page.find(START)
    return page.count(START) == 1 and page.count(END) == 1 and page.find(END) > start >= 0


def fill(page: str, reference: str) -> str:
    """``page`` with its reference box showing ``reference`` (a valid one; the page must have one box)."""
    if not has_box(page):
        raise ValueError("the page has no single reference box")
    start = page.index(START)
    end = page.index(END) + len(END)
    return page[:start] + reference_box(reference).strip() + page[end:]


def fallback_page(programme: Programme, reference: str | None) -> str:
    from hub import render

    info = programme.programme
    who = (
        "We send your details to one partner only: the one that can help you most."
        if programme.routing_mode == "primary"
        else "We send your details to each partner that can help you."
    )
    return render.render(
        "thanks_page.html",
        **render.page_context(programme),
        box_html=reference_box(reference).strip(),
        has_reference=reference is not None,
        who=who,
        contact_days=info.contact_within_working_days,
        hub_email=str(info.hub_email),
    )


@dataclass(frozen=True)
class Shown:
    html: str
    kind: str  # "filled", "unfilled" (no valid reference: the page as built) or "fallback"


class ThanksPage:
    """The built thanks page, read once and again only when the file changes (the local stack rebuilds)."""

    def __init__(self, programme: Programme, path: str | os.PathLike[str]):
        self.programme = programme
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._page: str | None = None

    def page(self) -> str | None:
        """The built page, or None when it is missing, unreadable or has no single reference box."""
        try:
            stat = self.path.stat()
        except OSError:
            with self._lock:
                if self._stamp != (-1, -1):
                    log.warning("thanks page %s not found; serving the short fallback page", self.path)
                self._stamp, self._page = (-1, -1), None
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._page = stamp, self._read()
            return self._page

    def _read(self) -> str | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("thanks page cannot be read (%s); serving the short fallback page", type(exc).__name__)
            return None
        if not has_box(text):
            log.warning("thanks page has no reference box (build it again); serving the short fallback page")
            return None
        return text

    def show(self, raw_reference: str | None) -> Shown:
        reference = valid_reference(raw_reference)
        page = self.page()
        if page is None:
            return Shown(fallback_page(self.programme, reference), "fallback")
        if reference is None:
            return Shown(page, "unfilled")
        return Shown(fill(page, reference), "filled")
