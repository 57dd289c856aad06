"""Jinja2 rendering shared by the site build and the functions (autoescaped)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from hub import form

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.globals["choices"] = form
    return env


def render_form(
    *,
    action: str = "/api/referrals",
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    campaign: str = "",
    source: str = "",
) -> str:
    """The referral form (error summary + form), identical wherever it is used."""
    return environment().get_template("form.html").render(
        action=action, values=values or {}, errors=errors or {}, campaign=campaign, source=source
    )


def form_rules_json() -> str:
    """Rules for the browser-side checks, safe to embed in a <script type="application/json">."""
    return json.dumps(form.browser_rules(), separators=(",", ":")).replace("</", "<\\/")


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
