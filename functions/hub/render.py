"""Jinja2 rendering shared by the site build and the functions (autoescaped).

The referral form is one template (``templates/form.html``) drawn from the field table
(:mod:`hub.form`), used by the site build and by the intake function's 422 page alike.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from hub import form

if TYPE_CHECKING:
    from hub.config import Programme

TEMPLATES = Path(__file__).parent / "templates"
FORM_TITLE = "Sign up to hear about health and care jobs"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.globals["form"] = form
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def render_form(
    *,
    action: str = "/api/referrals",
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    campaign: str = "",
    source: str = "",
) -> str:
    """The referral form (error summary + form), identical wherever it is used."""
    return render("form.html", action=action, values=values or {}, errors=errors or {}, campaign=campaign, source=source)


def page_context(programme: Programme | None) -> dict[str, str]:
    """What every page a function serves shows around its content (``page_base.html``)."""
    info = programme.programme if programme else None
    return {
        "site_name": info.short_name if info else "CCHCC",
        "programme_name": info.name if info else "",
        "contact_phone": info.contact_phone if info else "",
        "contact_phone_tel": info.contact_phone_tel if info else "",
    }


def _page(programme: Programme | None, **context: Any) -> str:
    return render("error_page.html", **page_context(programme), **context)


def form_page(programme: Programme, values: dict[str, Any], errors: dict[str, str]) -> str:
    """The whole page a browser without JavaScript gets back: the form with its errors, answers kept."""
    form_html = render_form(
        values=values, errors=errors, campaign=values.get("campaign") or "", source=values.get("source") or ""
    )
    return _page(programme, title=FORM_TITLE, message=None, form_html=form_html)


def problem_page(programme: Programme | None, title: str, message: str) -> str:
    """A short page saying what went wrong and what to do (413, 503...)."""
    return _page(programme, title=title, message=message, form_html=None)


def limited_page(programme: Programme, values: dict[str, Any], title: str, message: str) -> str:
    """429 for a browser without JavaScript: what to do, then the form with the answers kept."""
    form_html = render_form(values=values, campaign=values.get("campaign") or "", source=values.get("source") or "")
    return _page(programme, title=title, message=message, form_html=form_html)
