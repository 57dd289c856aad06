"""Pages in every language: which pages exist in which language, and what each page says about them.

English keeps its addresses; a page in another language lives under ``/<code>/``. The pages
every language has:

- ``/<code>/`` the language's entry page, with the form (English: ``/get-in-touch/``);
- ``/<code>/thanks/`` the thanks page (English: ``/thanks/``);
- ``/<code>/privacy/`` a short privacy summary that links to the full notice in English
  (English: ``/privacy/``);
- ``/<code>/campaigns/<slug>/`` each campaign's landing page (made by :mod:`campaign_pages`).

Their words come from the language's catalogue (:mod:`hub.i18n`) through the templates in
``cchcc/site/templates/pages/`` and the theme's templates. :class:`Alternates` records which
addresses are the same page in other languages; the pages hook gives each page its language
switch, its ``hreflang`` links and, for a draft language, the draft notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cchcc.site.output import Output
from hub import i18n
from hub.config import Programme
from hub.i18n import N_
from hub.render import install_translations

TEMPLATES = Path(__file__).parent / "templates" / "pages"
DRAFT_NOTICE = N_("This translation is a draft: a fluent speaker has not checked it yet.")
# English page -> the same page in another language (the path after /<code>/).
SITE_PAGES = {"get-in-touch/": "", "thanks/": "thanks/", "privacy/": "privacy/"}
SITE_TITLES = {
    "get-in-touch/": N_("Jobs in health and care: tell us about you"),
    "thanks/": N_("Thank you"),
    "privacy/": N_("Privacy: a short summary"),
}


# The site's name (mkdocs.yml site_name) as each language says it, when the catalogue has it.
SITE_NAME = N_("Health and care jobs in Leeds")


def site_name(english: str, code: str) -> str:
    return i18n.translator(code).gettext(english) if code != i18n.DEFAULT else english


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "md"], default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    return install_translations(env)


def render(template: str, lang: str, **context) -> str:
    return environment().get_template(template).render(lang=lang, **context)


def others() -> list[i18n.Language]:
    """The languages besides English."""
    return [language for language in i18n.languages() if language.code != i18n.DEFAULT]


@lru_cache(maxsize=None)
def theme_language(code: str) -> str:
    """The language Material's own words are shown in: the page's, when Material has it."""
    import material

    known = Path(material.__file__).parent / "templates" / "partials" / "languages" / f"{code}.html"
    return code if known.is_file() else i18n.DEFAULT


def page_meta(code: str, title: str, **more) -> dict:
    """Front matter for a page in ``code``: its title, language, and no place in search or the menu."""
    meta = {"title": title, "lang": code, "theme_language": theme_language(code)}
    if code != i18n.DEFAULT:
        meta["search"] = {"exclude": True}
    meta.update(more)
    return meta


def markdown(meta: dict, body: str) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n" + body


@dataclass
class Alternates:
    """Which addresses (MkDocs page URLs, e.g. ``ur/thanks/``) are the same page in other languages."""

    by_url: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, urls: dict[str, str]) -> None:
        for url in urls.values():
            self.by_url[url] = urls

    def meta_for(self, url: str, lang: str) -> dict:
        """What the theme shows on the page at ``url``: the switch (each language named in itself) and,
        for a draft language, the notice in that language and in English."""
        urls = self.by_url.get(url)
        meta: dict = {}
        if urls:
            meta["languages"] = [
                {"code": l.code, "name": l.name, "dir": l.direction, "url": urls[l.code], "current": l.code == lang}
                for l in i18n.languages()
                if l.code in urls
            ]
        language = i18n.language(lang)
        if language.draft and language.code != i18n.DEFAULT:
            meta["draft"] = {"text": i18n.translator(lang).gettext(DRAFT_NOTICE), "english": DRAFT_NOTICE}
        return meta


def site_outputs(programme: Programme, alternates: Alternates) -> list[Output]:
    """The entry page, thanks page and privacy summary in every language besides English."""
    out: list[Output] = []
    for english_url, translated in SITE_PAGES.items():
        urls = {i18n.DEFAULT: english_url}
        for language in others():
            code = language.code
            t = i18n.translator(code)
            url = f"{code}/{translated}"
            urls[code] = url
            title = t.gettext(SITE_TITLES[english_url])
            if english_url == "thanks/":
                body = "{{ thanks_page() }}\n"
                meta = page_meta(code, title, hide=["navigation", "toc"], robots="noindex")
            elif english_url == "privacy/":
                body = render("privacy.md", code, **privacy_context(programme))
                meta = page_meta(code, title, hide=["navigation", "toc"])
            else:
                body = render("home.md", code, days=programme.programme.contact_within_working_days,
                              privacy_url=f"/{code}/privacy/")
                meta = page_meta(code, title, hide=["navigation", "toc"])
            out.append(Output(f"{url}index.md", content=markdown(meta, body), page=True))
        alternates.add(urls)
    return out


def privacy_context(programme: Programme) -> dict:
    info = programme.programme
    return {
        "organisation": info.organisation,
        "programme": info.name,
        "organisations": programme.organisations,
        "controller": info.data_controller,
        "days": programme.retention_days,
        "email": str(info.hub_email),
        "phone": info.contact_phone,
        "phone_tel": info.contact_phone_tel,
    }


def not_found_lines() -> list[dict]:
    """The 404 page's words in each language besides English, each with a link to that language's pages."""
    lines = []
    for language in others():
        t = i18n.translator(language.code)
        lines.append({
            "code": language.code,
            "dir": language.direction,
            "name": language.name,
            "text": t.gettext(N_("Sorry, we cannot find that page.")),
            "link": t.gettext(N_("Go to our pages in your language")),
            "url": f"{language.code}/",
        })
    return lines
