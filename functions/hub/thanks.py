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
the local stack names. The same page in another language (``?lang=ur``) is
:func:`language_page` beside it: ``thanks.ur.html`` in the task root, or
``<site>/ur/thanks/index.html`` in a built site. When there is none, or it has no
reference box, :func:`fallback_page` renders a short page in that language that still
shows the reference and what happens next: this never fails a request.

The words of the page (:func:`content`) are one template, ``thanks_content.html``: the
site build puts it in every language's thanks page, the fallback page shows it too.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from hub import i18n, references
from hub.i18n import N_

if TYPE_CHECKING:
    from hub.config import Programme

log = logging.getLogger(__name__)

START = "<!--cchcc:reference-->"
END = "<!--/cchcc:reference-->"
MISSING = N_("We cannot show your reference on this page. If the form did not show an error, we have your details.")
PATTERN = f"^[{references.ALPHABET}]{{4}}-[{references.ALPHABET}]{{4}}$"  # for cchcc.js (data-pattern)
_MAX_REF_INPUT = 32  # a reference typed with spaces is 11 characters; anything much longer is not one


def valid_reference(raw: str | None) -> str | None:
    """The reference in ``raw`` (tidied: case, spaces, dash), or None when it is not one."""
    if not raw or len(raw) > _MAX_REF_INPUT:
        return None
    reference = references.normalise_reference(raw)
    return reference if reference is not None and references.is_reference(reference) else None


def reference_box(reference: str | None = None, lang: str | None = None) -> str:
    """The reference box, markers included: empty (as built) or showing a valid reference, in ``lang``."""
    from hub import render  # Jinja2 escapes what it puts in

    if reference is not None and not references.is_reference(reference):
        raise ValueError("not a reference")
    return render.render(
        "reference_box.html", pattern=PATTERN, reference=reference, missing=MISSING, **render.language_context(lang)
    )


def has_box(page: str) -> bool:
    """True when the page has exactly one reference box to fill."""
    start = page.find(START)
    return page.count(START) == 1 and page.count(END) == 1 and page.find(END) > start >= 0


def fill(page: str, reference: str, lang: str | None = None) -> str:
    """``page`` with its reference box showing ``reference`` (a valid one; the page must have one box)."""
    if not has_box(page):
        raise ValueError("the page has no single reference box")
    start = page.index(START)
    end = page.index(END) + len(END)
    return page[:start] + reference_box(reference, lang).strip() + page[end:]


def _content_context(programme: Programme, reference: str | None, lang: str | None, advice: bool) -> dict:
    from markupsafe import Markup

    from hub import render

    info = programme.programme
    return {
        **render.page_context(programme, lang),
        "box_html": reference_box(reference, lang).strip(),
        "advice": advice,
        "primary": programme.routing_mode == "primary",
        "contact_days": info.contact_within_working_days,
        "phone_link": Markup('<a href="tel:{}">{}</a>').format(info.contact_phone_tel, info.contact_phone),
        "email_link": Markup('<a href="mailto:{0}">{0}</a>').format(str(info.hub_email)),
    }


def content(programme: Programme, lang: str | None = None) -> str:
    """The words of the thanks page as the site build writes them (the box empty, for the function or
    ``cchcc.js`` to fill), in ``lang``."""
    from hub import render

    return render.render("thanks_content.html", **_content_context(programme, None, lang, advice=True))


def fallback_page(programme: Programme, reference: str | None, lang: str | None = None) -> str:
    from hub import render

    return render.render(
        "thanks_page.html", **_content_context(programme, reference, lang, advice=reference is not None)
    )


def language_page(path: Path, lang: str) -> Path:
    """Where the thanks page in ``lang`` is, given the English one: in a built site
    ``<site>/<lang>/thanks/index.html`` beside ``<site>/thanks/index.html``; otherwise (a Lambda
    artifact) ``thanks.<lang>.html`` beside ``thanks.html``."""
    if lang == i18n.DEFAULT:
        return path
    if path.name == "index.html" and path.parent.name == "thanks":
        return path.parent.parent / lang / "thanks" / "index.html"
    return path.with_name(f"{path.stem}.{lang}{path.suffix}")


@dataclass(frozen=True)
class Shown:
    html: str
    kind: str  # "filled", "unfilled" (no valid reference: the page as built) or "fallback"


class _BuiltPage:
    """One built thanks page, read once and again only when the file changes (the local stack rebuilds)."""

    def __init__(self, path: Path):
        self.path = path
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


class ThanksPage:
    """The built thanks page in each language, each read on first use."""

    def __init__(self, programme: Programme, path: str | os.PathLike[str]):
        self.programme = programme
        self.path = Path(path)
        self._pages: dict[str, _BuiltPage] = {}

    def page(self, lang: str = i18n.DEFAULT) -> str | None:
        if lang not in self._pages:
            self._pages[lang] = _BuiltPage(language_page(self.path, lang))
        return self._pages[lang].page()

    def show(self, raw_reference: str | None, raw_lang: str | None = None) -> Shown:
        """The page in ``raw_lang`` (English when it is not one of the site's languages) with the
        reference filled in when ``raw_reference`` is a valid one."""
        lang = i18n.language(raw_lang).code
        reference = valid_reference(raw_reference)
        page = self.page(lang)
        if page is None:
            return Shown(fallback_page(self.programme, reference, lang), "fallback")
        if reference is None:
            return Shown(page, "unfilled")
        return Shown(fill(page, reference, lang), "filled")
