"""Shortcodes for the hand-written site pages: pay figures, partners and the referral form.

Plain Python with no MkDocs imports, so the site can move to another generator
(Zensical, Material's successor) by swapping the thin hook in ``site/hooks/pages.py``.

A page writes a shortcode as ``{{ name("arg", key="value") }}``. Arguments are
Python-style string literals only. Inline shortcodes become escaped text in the
Markdown; block shortcodes (the form, the reference box) become a placeholder
paragraph that :func:`finish` swaps for HTML after Markdown has run, so their
HTML reaches the page byte for byte. Anything that looks like a shortcode but is
not one stops the build with the page, the line and what is wrong.
"""

from __future__ import annotations

import ast
import html
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cchcc.site.pay import Band, PayTable, money
from hub import form, i18n, thanks
from hub.config import Programme
from hub.render import render_form

DEFAULT_API_URL = "/api/referrals"
SHORTCODE = re.compile(r"\{\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\((?P<args>[^{}]*?)\)\s*\}\}")
LEFTOVER = re.compile(r"\{\{.*?\}\}|\{\{")
_API_URL = re.compile(r"^(/(?!/)[A-Za-z0-9._~/-]*|https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?)$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class PagesError(ValueError):
    """A page or a site data file is wrong. The message names the file and what to fix."""


# --------------------------------------------------------------------------- site data


@dataclass
class SiteData:
    """What the shortcodes need: the programme configuration, pay, and the API address."""

    programme: Programme
    pay: PayTable
    api_url: str = DEFAULT_API_URL


def check_api_url(value: str) -> str:
    """``extra.api_url`` from mkdocs.yml: where the form posts (same origin by default)."""
    value = value.strip()
    if not _API_URL.match(value):
        raise PagesError(
            f"mkdocs.yml: extra.api_url: {value!r} is not usable; "
            "use a path on this site such as /api/referrals, or an https:// address"
        )
    return value


def template_context(data: SiteData) -> dict[str, Any]:
    """Values the theme templates show on every page (the footer)."""
    return {
        "programme_name": data.programme.programme.name,
        "organisation": data.programme.programme.organisation,
        "contact_phone": data.programme.programme.contact_phone,
        "contact_phone_tel": data.programme.programme.contact_phone_tel,
        "api_url": data.api_url,
    }


def form_html(data: SiteData, *, campaign: str = "", source: str = "", event: str = "", lang: str = "en") -> str:
    """The referral form exactly as the intake function renders it (empty, no errors), in ``lang``."""
    return render_form(action=data.api_url, campaign=campaign, source=source, event=event, lang=lang)


# --------------------------------------------------------------------------- shortcodes


@dataclass
class Expanded:
    markdown: str
    blocks: dict[str, str] = field(default_factory=dict)


def _retention(days: int) -> str:
    years, rest = divmod(days, 365)
    if rest == 0 and years:
        return f"{years} year{'s' if years > 1 else ''} ({days} days)"
    return f"{days} days"


def _list(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items) + "\n"


def _text_shortcodes(data: SiteData) -> dict[str, Callable[..., str]]:
    p = data.programme
    pay = data.pay
    esc = html.escape

    def band(band_id: str) -> Band:
        if band_id not in pay.bands:
            raise PagesError(f"unknown pay band {band_id!r}; pay.yml has {', '.join(pay.bands)}")
        return pay.bands[band_id]

    def pay_text(pay_id: str) -> str:
        if pay_id in pay.hourly:
            return f"{money(pay.hourly[pay_id].rate)} an hour"
        b = band(pay_id)
        if b.low == b.high:
            return f"{money(b.low)} a year"
        return f"{money(b.low)} to {money(b.high)} a year"

    def pay_hourly(band_id: str) -> str:
        b = band(band_id)
        if b.hourly is None:
            raise PagesError(f"pay band {band_id!r} has no hourly rate in pay.yml")
        return f"{money(b.hourly)} an hour"

    def pay_label(pay_id: str) -> str:
        if pay_id in pay.hourly:
            return esc(pay.hourly[pay_id].label)
        return esc(band(pay_id).label)

    def pay_as_of(pay_id: str) -> str:
        if pay_id not in pay.hourly:
            raise PagesError(f"unknown hourly rate {pay_id!r}; pay.yml has {', '.join(pay.hourly)}")
        rate = pay.hourly[pay_id]
        return esc(f"{rate.as_of}, {rate.source}")

    def unsocial(band_id: str, when: str) -> str:
        extra = pay.unsocial_hours.get(band_id, {})
        if when not in extra:
            raise PagesError(f"no unsocial hours figure {when!r} for {band_id!r} in pay.yml")
        return f"{int(extra[when])}%"

    def pay_note() -> str:
        text = f"Pay is for {pay.year}, from {pay.effective_from}, in {pay.country}. Source: {pay.source}."
        if pay.note:
            text += f" {pay.note}"
        if pay.note_source:
            text += f" (Source: {pay.note_source}.)"
        return esc(text)

    def pay_table() -> str:
        rows = ["| NHS pay band | Pay for a full-time job |", "|---|---|"]
        rows += [f"| {esc(b.label)} | {pay_text(band_id)} |" for band_id, b in pay.bands.items()]
        return "\n".join(rows) + "\n"

    def partners() -> str:
        items = []
        for s in sorted(p.spokes, key=lambda s: s.priority):
            who = f"**{esc(s.name)}**"
            if s.organisation != s.name:
                who += f" ({esc(s.organisation)})"
            text = f"{who}: they help people who {esc(_second_person(s.why))}"
            sectors = [sector for rule in s.rules for sector in rule.postcode_sectors]
            if sectors:
                text += f" (postcodes starting {esc(_or_list(sectors))})"
            items.append(text + ".")
        return _list(items)

    def languages() -> str:
        # Each language named in itself, linking to its pages (cchcc.site.languages).
        links = [
            f'<a href="/{language.code}/" hreflang="{language.code}" lang="{language.code}" dir="{language.direction}">'
            f"{esc(language.name)}</a> ({esc(language.english_name)})"
            for language in i18n.languages()
            if language.code != i18n.DEFAULT
        ]
        if not links:
            return "English only for now"
        return links[0] if len(links) == 1 else ", ".join(links[:-1]) + " and " + links[-1]

    def organisations() -> str:
        return _list([esc(o) for o in p.organisations])

    def data_sharing_table() -> str:
        """One row per recipient, from programme.yml: who, when, exactly which fields, and how sent.
        A partner can check it line by line against the data sharing agreement."""
        rows = [
            "| Partner | They receive your details when | The details they receive | Sent by |",
            "|---|---|---|---|",
        ]

        def who(name: str, organisation: str) -> str:
            return esc(name) if name == organisation else f"{esc(name)} ({esc(organisation)})"

        def fields(receives) -> str:
            return ", ".join(esc(f.short_label or f.name) for f in form.FIELDS if f.name in receives)

        for s in sorted(p.spokes, key=lambda s: s.priority):
            how = "email and a secure web link" + (" (and a signed message to their system)" if s.webhook else "")
            when = f"you {esc(_second_person(s.why))}, or another partner refers you to them"
            rows.append(f"| {who(s.name, s.organisation)} | {when} | {fields(s.receives)} | {how} |")
        rows.append(
            f"| {who(p.triage.name, p.programme.organisation)} | no partner's rules match you, so our team "
            f"decides who can help | {fields(form.SHAREABLE)} | email and a secure web link |"
        )
        return "\n".join(rows) + "\n"

    return {
        "pay": pay_text,
        "pay_hourly": pay_hourly,
        "pay_label": pay_label,
        "pay_as_of": pay_as_of,
        "pay_year": lambda: esc(pay.year),
        "pay_note": pay_note,
        "pay_table": pay_table,
        "unsocial_hours": unsocial,
        "contact_days": lambda: f"{p.programme.contact_within_working_days} working days",
        "retention": lambda: _retention(p.retention_days),
        "data_controller": lambda: esc(p.programme.data_controller),
        "hub_email": lambda: f"[{esc(p.programme.hub_email)}](mailto:{esc(p.programme.hub_email)})",
        "programme_name": lambda: esc(p.programme.name),
        "contact_phone": lambda: f"[{esc(p.programme.contact_phone)}](tel:{p.programme.contact_phone_tel})",
        "programme_organisation": lambda: esc(p.programme.organisation),
        "partners": partners,
        "who_gets_your_details": lambda: (
            "We send your details to one partner only: the one that can help you most."
            if p.routing_mode == "primary"
            else "We send your details to each partner that can help you."
        ),
        "organisations": organisations,
        "data_sharing_table": data_sharing_table,
        "languages": languages,
    }


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _second_person(why: str) -> str:
    """Spoke ``why`` finishes 'Referred because the person …' ('lives in Leeds'); make it plural."""
    words = {"lives": "live", "is": "are", "has": "have", "works": "work", "wants": "want"}
    return " ".join(words.get(w, w) for w in why.split())


def _block_shortcodes(data: SiteData, lang: str) -> dict[str, Callable[..., str]]:
    def form(campaign: str = "", source: str = "", event: str = "") -> str:
        for name, value in (("campaign", campaign), ("source", source), ("event", event)):
            if value and not _SLUG.match(value):
                raise PagesError(f"form({name}=...): {value!r} must be lowercase letters, numbers and dashes")
        return form_html(data, campaign=campaign, source=source, event=event, lang=lang)

    def reference_box() -> str:
        # The intake function fills this box on GET /thanks/ (hub.thanks); cchcc.js fills it too.
        return thanks.reference_box(lang=lang)

    def thanks_page() -> str:
        # The whole thanks page in the page's language, the reference box included (hub.thanks).
        return thanks.content(data.programme, lang)

    return {"form": form, "reference_box": reference_box, "thanks_page": thanks_page}


def _parse_args(text: str) -> tuple[list[str], dict[str, str]]:
    try:
        call = ast.parse(f"_({text})", mode="eval").body
    except SyntaxError as exc:
        raise PagesError(f"cannot read the arguments ({text}): write them like \"band-2\"") from exc
    assert isinstance(call, ast.Call)
    args, kwargs = [], {}
    for node in call.args:
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            raise PagesError(f"arguments must be quoted text, got ({text})")
        args.append(node.value)
    for kw in call.keywords:
        if kw.arg is None or not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)):
            raise PagesError(f"arguments must be quoted text, got ({text})")
        kwargs[kw.arg] = kw.value.value
    return args, kwargs


def expand(markdown: str, data: SiteData, *, page: str, lang: str = "en") -> Expanded:
    """Replace every shortcode in a page's Markdown (block shortcodes in the page's ``lang``).
    Raises PagesError naming the page and line."""
    texts = _text_shortcodes(data)
    blocks_fns = _block_shortcodes(data, lang)
    blocks: dict[str, str] = {}
    nonce = secrets.token_hex(4)

    def where(pos: int) -> str:
        return f"{page}, line {markdown.count(chr(10), 0, pos) + 1}"

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        fn = texts.get(name) or blocks_fns.get(name)
        if fn is None:
            known = ", ".join(sorted([*texts, *blocks_fns]))
            raise PagesError(f"{where(match.start())}: unknown shortcode {match.group(0)!r}; known shortcodes: {known}")
        try:
            args, kwargs = _parse_args(match.group("args"))
            result = fn(*args, **kwargs)
        except TypeError as exc:
            raise PagesError(f"{where(match.start())}: {match.group(0)}: wrong arguments ({exc})") from exc
        except PagesError as exc:
            raise PagesError(f"{where(match.start())}: {match.group(0)}: {exc}") from exc
        if name in blocks_fns:
            token = f"ccblock{nonce}n{len(blocks)}"
            blocks[token] = result
            return f"\n\n{token}\n\n"
        return result

    out = SHORTCODE.sub(replace, markdown)
    leftover = LEFTOVER.search(out)
    if leftover:
        raise PagesError(
            f"{where(markdown.find(leftover.group(0)) if leftover.group(0) in markdown else 0)}: "
            f"{leftover.group(0)!r} looks like a shortcode but is not one; write it like {{{{ pay(\"band-2\") }}}}"
        )
    return Expanded(out, blocks)


def finish(page_html: str, blocks: Mapping[str, str]) -> str:
    """Put each block shortcode's HTML where Markdown left its placeholder."""
    for token, fragment in blocks.items():
        wrapped = f"<p>{token}</p>"
        if wrapped in page_html:
            page_html = page_html.replace(wrapped, fragment)
        elif token in page_html:
            page_html = page_html.replace(token, fragment)
        else:
            raise PagesError(f"internal: placeholder {token} disappeared while rendering the page")
    return page_html
