"""Jinja2 rendering shared by the site build and the functions (autoescaped).

The referral form is one template (``templates/form.html``) drawn from the field table
(:mod:`hub.form`), used by the site build and by the intake function's 422 page alike.

Templates are translated with Jinja's ``i18n`` extension: ``_("English words")`` and
``{% trans %}`` look the words up in the catalogue of the ``lang`` the template is rendered
with (:mod:`hub.i18n`; English when it is missing or unknown).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape

from hub import form, i18n
from hub.i18n import N_

if TYPE_CHECKING:
    from hub.config import Programme

TEMPLATES = Path(__file__).parent / "templates"
FORM_TITLE = N_("Sign up to hear about health and care jobs")


def _lang_variable(context: Any) -> str | None:
    return context.get("lang")


def install_translations(env: Environment, language_of: Callable[[Any], str | None] = _lang_variable) -> Environment:
    """Jinja's ``i18n`` extension (``_()``, ``{% trans %}``), reading the language from each template's
    context with ``language_of`` (by default the ``lang`` it is rendered with)."""

    @pass_context
    def gettext(context: Any, message: str) -> str:
        return i18n.translator(language_of(context)).gettext(message)

    @pass_context
    def ngettext(context: Any, singular: str, plural: str, n: int) -> str:
        return i18n.translator(language_of(context)).ngettext(singular, plural, n)

    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.globals["form"] = form
    return install_translations(env)


def language_context(lang: str | None) -> dict[str, str]:
    """``lang`` (a known code, else English) and ``dir`` for a page or fragment."""
    language = i18n.language(lang)
    return {"lang": language.code, "dir": language.direction}


def privacy_url(lang: str | None) -> str:
    """The privacy notice for a language: the full notice in English, a short summary in the others."""
    return "/" + i18n.path_prefix(i18n.language(lang).code) + "privacy/"


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def render_form(
    *,
    action: str = "/api/referrals",
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    campaign: str = "",
    source: str = "",
    event: str = "",
    lang: str | None = None,
) -> str:
    """The referral form (error summary + form) in ``lang``, identical wherever it is used."""
    language = language_context(values.get("lang") if values and values.get("lang") else lang)
    return render(
        "form.html", action=action, values=values or {}, errors=errors or {}, campaign=campaign, source=source,
        event=event, privacy_url=privacy_url(language["lang"]), **language,
    )


def page_context(programme: Programme | None, lang: str | None = None) -> dict[str, str]:
    """What every page a function serves shows around its content (``page_base.html``), in ``lang``."""
    info = programme.programme if programme else None
    return {
        "site_name": info.short_name if info else "CCHCC",
        "programme_name": info.name if info else "",
        "contact_phone": info.contact_phone if info else "",
        "contact_phone_tel": info.contact_phone_tel if info else "",
        "privacy_url": privacy_url(lang),
        "home_url": "/" + i18n.path_prefix(i18n.language(lang).code),
        **language_context(lang),
    }


def _page(programme: Programme | None, lang: str | None, **context: Any) -> str:
    return render("error_page.html", **page_context(programme, lang), **context)


def form_page(programme: Programme, values: dict[str, Any], errors: dict[str, str]) -> str:
    """The whole page a browser without JavaScript gets back: the form with its errors, answers kept,
    in the language the form was posted in."""
    form_html = render_form(
        values=values, errors=errors, campaign=values.get("campaign") or "", source=values.get("source") or "",
        event=values.get("event") or "",
    )
    return _page(programme, values.get("lang"), title=FORM_TITLE, message=None, form_html=form_html)


def problem_page(programme: Programme | None, title: str, message: str, lang: str | None = None) -> str:
    """A short page saying what went wrong and what to do (413, 503...); ``title`` and ``message``
    are English words marked for translation, shown in ``lang``."""
    return _page(programme, lang, title=title, message=message, form_html=None)


def limited_page(programme: Programme, values: dict[str, Any], title: str, message: str) -> str:
    """429 for a browser without JavaScript: what to do, then the form with the answers kept, in the
    language the form was posted in."""
    form_html = render_form(
        values=values, campaign=values.get("campaign") or "", source=values.get("source") or "",
        event=values.get("event") or "",
    )
    return _page(programme, values.get("lang"), title=title, message=message, form_html=form_html)
