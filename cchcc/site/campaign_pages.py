"""The pages and files campaigns add to the site: landing pages (in every language), events (list,
pages, calendar files), print packs, ``/q/`` redirects, QR codes and posters.

Plain Python: the MkDocs hook (``site/hooks/campaigns.py``) turns each :class:`Output`
into a MkDocs file, so the same code can serve another generator (Zensical) later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cchcc.site import areas, languages, qr
from cchcc.site.campaigns import FORMATS, Campaign, Event, Placement, when
from cchcc.site.output import Output
from cchcc.site.printing import PlacementFiles
from hub import i18n
from hub.catalogue import CodeEntry
from hub.config import Programme
from hub.i18n import N_
from hub.problems import Problem

__all__ = ["CampaignPages", "Output", "outputs", "check_site_paths", "codes", "redirect_target"]

TEMPLATES = Path(__file__).parent / "templates"
# The landing page in a language besides English: the campaign's own words are English, so the
# page uses the programme's translated ones.
HEADLINE = N_("Work in health and care, close to home")
SUMMARY = N_("Free local help to find a job, training or a course in health and care.")
ABOUT = N_("About this campaign")
WHO = N_("Who will contact you")
OSM_SEARCH = "https://www.openstreetmap.org/search?query="


@dataclass(frozen=True)
class CampaignPages:
    """Everything the campaign pages of one build are made from."""

    site_url: str
    site_name: str
    programme: Programme
    campaigns: list[Campaign]
    today: dt.date
    files: dict[str, PlacementFiles]  # by placement or event id
    alternates: languages.Alternates = field(default_factory=languages.Alternates)
    retired: dict = field(default_factory=dict)  # id -> cchcc.site.published.Entry no campaign has now

    @property
    def local(self) -> bool:
        """A build whose QR codes open this computer (127.0.0.1, localhost): not for printing."""
        return qr.is_local(self.site_url)


def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )


def site_path(pages: CampaignPages, path: str) -> str:
    """A root-relative address on this site, respecting a site_url with a sub-path."""
    prefix = urlsplit(pages.site_url).path or "/"
    return prefix + path.lstrip("/")


def redirect_target(pages: CampaignPages, campaign: Campaign, placement: Placement | Event) -> str:
    """Where ``/q/<id>/`` sends people: the campaign page (or an event's page), or
    ``redirect_after_end`` once the campaign has ended."""
    if isinstance(placement, Event):
        return site_path(pages, f"events/{placement.id}/?s={placement.id}")
    after = campaign.data.redirect_after_end
    if after and campaign.ended(pages.today):
        return after if after.startswith("https://") else site_path(pages, after)
    return site_path(pages, f"campaigns/{campaign.slug}/?s={placement.id}")


def _after_end(pages: CampaignPages, campaign: Campaign) -> str | None:
    after = campaign.data.redirect_after_end
    if not after:
        return None
    return after if after.startswith("https://") else site_path(pages, after)


def codes(pages: CampaignPages) -> dict[str, CodeEntry]:
    """Every ``/q/<id>/`` page :func:`outputs` makes, with where it points, for the scans function
    (:mod:`hub.scans`): ``target`` until the campaign's ``ends``, then ``after_end`` (when set).
    On ``pages.today`` each entry answers exactly what the built page does."""
    found: dict[str, CodeEntry] = {}
    for campaign in pages.campaigns:
        after = _after_end(pages, campaign)
        for placement in campaign.printed:
            if isinstance(placement, Event):
                found[placement.id] = CodeEntry(
                    kind="event", campaign=campaign.slug, target=redirect_target(pages, campaign, placement)
                )
            else:
                found[placement.id] = CodeEntry(
                    kind="placement", campaign=campaign.slug,
                    target=site_path(pages, f"campaigns/{campaign.slug}/?s={placement.id}"),
                    ends=campaign.data.ends if after else None, after_end=after,
                )
    for item_id, entry in sorted(pages.retired.items()):
        found[item_id] = CodeEntry(kind=entry.kind, campaign=entry.campaign, target=retired_target(pages, item_id, entry))
    return found


def _redirect(pages: CampaignPages, target: str) -> str:
    return _env().get_template("redirect.html").render(target=target, site_name=pages.site_name)


def redirect_html(pages: CampaignPages, campaign: Campaign, placement: Placement | Event) -> str:
    return _redirect(pages, redirect_target(pages, campaign, placement))


def _front_matter(meta: dict) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n"


def _date(day: dt.date, lang: str) -> str:
    from babel.dates import format_date

    return format_date(day, "long", locale="en_GB" if lang == i18n.DEFAULT else lang)


def landing_markdown(pages: CampaignPages, campaign: Campaign, lang: str = i18n.DEFAULT) -> str:
    """A campaign's landing page in ``lang``: the campaign's own words in English, the programme's
    translated ones in other languages; the form and who helps where in every language."""
    data = campaign.data
    t = i18n.translator(lang)
    english = lang == i18n.DEFAULT
    headline = data.headline if english else t.gettext(HEADLINE)
    summary = data.summary if english else t.gettext(SUMMARY)
    meta = languages.page_meta(
        lang, data.title if english else headline,
        template="campaign.html",
        description=summary,
        hide=["navigation", "toc", "path"],
        campaign={
            "slug": campaign.slug,
            "headline": headline,
            "summary": summary,
            "area": data.area,
            "ended": campaign.ended(pages.today),
            "ends": _date(data.ends, lang),
            "contact_days": pages.programme.programme.contact_within_working_days,
            "roles": [{"title": campaign.role_titles[r], "path": f"careers/{r}/"} for r in data.roles] if english else [],
            "who_helps": areas.sentences(areas.who_helps(pages.programme, list(data.postcodes)), lang),
        },
    )
    if english:
        meta.pop("search", None)
        meta.pop("theme_language", None)
        meta.pop("lang", None)
    # The form comes straight after the headline and one line of copy, so it is within a thumb's
    # scroll on a phone; the longer copy follows it. The form is the site's shared form
    # shortcode, so it is the same form as everywhere else (in the page's language).
    about = campaign.body.strip() if english else languages.render("campaign_about.md", lang).strip()
    body = (
        f'{{{{ form(campaign="{campaign.slug}") }}}}\n\n'
        + _who_helps_markdown(meta["campaign"]["who_helps"], t)
        + f"## {t.gettext(ABOUT)}\n\n{about}\n"
    )
    return _front_matter(meta) + body


def _who_helps_markdown(sentences: list[dict], t: i18n.Translator) -> str:
    if not sentences:
        return ""
    import html

    lines = [f"## {t.gettext(WHO)}\n"]
    for sentence in sentences:
        lines.append(f"<p>{html.escape(sentence['text'], quote=False)}</p>\n")
        if sentence["items"]:
            lines.append("<ul>\n" + "".join(f"<li>{html.escape(i, quote=False)}</li>\n" for i in sentence["items"]) + "</ul>\n")
    return "\n".join(lines) + "\n"


# --- events ------------------------------------------------------------------------------------------


def _event_meta(pages: CampaignPages, campaign: Campaign, event: Event) -> dict:
    where = f"{event.venue}, {event.address}, {event.postcode}"
    return {
        "id": event.id,
        "title": event.title,
        "when": when(event),
        "venue": event.venue,
        "address": event.address,
        "postcode": event.postcode,
        "details": event.details or "",
        "access": event.access,
        "bring": event.bring or "",
        "over": event.over(pages.today),
        "register": event.booking == "register" and not event.over(pages.today),
        "map": OSM_SEARCH + quote(where),
        "campaign": campaign.slug,
        "starts": event.starts_at.isoformat(),
    }


def upcoming(pages: CampaignPages) -> list[tuple[Campaign, Event]]:
    """Events that are not over yet, soonest first."""
    found = [(c, e) for c in pages.campaigns for e in c.events if not e.over(pages.today)]
    return sorted(found, key=lambda ce: (ce[1].starts, ce[1].id))


def events_markdown(pages: CampaignPages) -> str:
    items = [_event_meta(pages, c, e) for c, e in upcoming(pages)]
    meta = {
        "template": "events.html",
        "title": "Events: come and meet us",
        "description": "Jobs fairs and drop-ins in Leeds where you can talk to local partners about jobs and training in health and care.",
        "hide": ["navigation", "toc", "path"],
        "events": items,
    }
    return _front_matter(meta)


def event_markdown(pages: CampaignPages, campaign: Campaign, event: Event) -> str:
    info = _event_meta(pages, campaign, event)
    meta = {
        "template": "event.html",
        "title": event.title,
        "description": f"{info['when']}, {event.venue}. Free, in Leeds.",
        "hide": ["navigation", "toc", "path"],
        "event": info,
    }
    body = f'{{{{ form(campaign="{campaign.slug}", event="{event.id}") }}}}\n' if info["register"] else ""
    return _front_matter(meta) + body


def event_ics(pages: CampaignPages, campaign: Campaign, event: Event) -> str:
    """The event as an iCalendar file (RFC 5545), in Leeds time with its VTIMEZONE."""
    from icalendar import Calendar, vText
    from icalendar import Event as VEvent

    page = pages.site_url + f"events/{event.id}/"
    calendar = Calendar()
    calendar.add("prodid", f"-//{pages.site_name}//{urlsplit(pages.site_url).hostname}//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    item = VEvent()
    item.add("uid", f"{event.id}@{urlsplit(pages.site_url).hostname}")
    # When this version of the file was made: the build's day, so a rebuild the same day is identical.
    item.add("dtstamp", dt.datetime.combine(pages.today, dt.time(0, 0), tzinfo=dt.UTC))
    item.add("dtstart", event.starts_at)
    item.add("dtend", event.ends_at)
    item.add("summary", event.title)
    item.add("location", vText(f"{event.venue}, {event.address}, {event.postcode}"))
    lines = [event.details or "", f"Step-free access: {event.access}"]
    if event.bring:
        lines.append(f"What to bring: {event.bring}")
    lines.append(page)
    item.add("description", "\n".join(line for line in lines if line))
    item.add("url", page)
    calendar.add_component(item)
    calendar.add_missing_timezones()
    return calendar.to_ical().decode("utf-8")


# --- print packs --------------------------------------------------------------------------------------


def _print_item(pages: CampaignPages, campaign: Campaign, placement: Placement | Event) -> dict:
    files = pages.files[placement.id]
    paper = FORMATS[placement.format]
    return {
        "id": placement.id,
        "name": placement.name,
        "format": placement.format,
        "kind": paper.kind,
        "paper": paper.paper,
        "size": f"{paper.width_mm:g} × {paper.height_mm:g} mm",
        "copies": placement.copies,
        "location": placement.location or "",
        "outdoor": placement.outdoor,
        "viewing_distance_m": placement.viewing_distance_m,
        "qr_cm": round(files.qr_mm / 10, 1),
        "level": files.level,
        "url": files.url,
        "printed_url": qr.printed_url(files.url),
        "target": redirect_target(pages, campaign, placement),
    }


def print_pack_markdown(pages: CampaignPages, campaign: Campaign) -> str:
    items = [_print_item(pages, campaign, p) for p in campaign.placements]
    events = [_print_item(pages, campaign, e) for e in campaign.events if not e.over(pages.today)]
    meta = {
        "template": "print-pack.html",
        "title": f"Print pack: {campaign.data.title}",
        "hide": ["navigation", "toc", "path"],
        "search": {"exclude": True},
        "print_pack": {
            "slug": campaign.slug,
            "title": campaign.data.title,
            "area": campaign.data.area,
            "starts": campaign.data.starts.strftime("%-d %B %Y"),
            "ends": campaign.data.ends.strftime("%-d %B %Y"),
            "total_copies": sum(p["copies"] for p in items + events),
            "placements": items,
            "events": events,
            "local": pages.local,
            "site_url": pages.site_url,
            "languages": [i18n.language(code).name for code in campaign.data.languages],
        },
    }
    return _front_matter(meta) + (
        f"Everything to print for **{campaign.data.title}**. Each placement has its own QR code, "
        "so we can see which ones work. Put each poster or flyer only where it says.\n"
    )


# --- everything ---------------------------------------------------------------------------------------


def retired_target(pages: CampaignPages, item_id: str, entry) -> str:
    """Where a code no campaign has now goes: its campaign's page while that campaign exists,
    otherwise what the registry says (``/events/`` for an event)."""
    live = {c.slug for c in pages.campaigns}
    if entry.kind == "placement" and entry.campaign in live:
        return site_path(pages, f"campaigns/{entry.campaign}/?s={item_id}")
    return entry.after if entry.after.startswith("https://") else site_path(pages, entry.after)


def outputs(pages: CampaignPages) -> list[Output]:
    """Every file the campaigns add to the site."""
    out: list[Output] = []
    for campaign in pages.campaigns:
        urls = {}
        for language in i18n.languages():
            prefix = i18n.path_prefix(language.code)
            urls[language.code] = f"{prefix}campaigns/{campaign.slug}/"
            out.append(Output(f"{prefix}campaigns/{campaign.slug}/index.md",
                              content=landing_markdown(pages, campaign, language.code), page=True))
        pages.alternates.add(urls)
        out.append(
            Output(f"campaigns/{campaign.slug}/print/index.md", content=print_pack_markdown(pages, campaign), page=True)
        )
        for placement in campaign.printed:
            files = pages.files[placement.id]
            out.append(Output(f"q/{placement.id}/index.html", content=redirect_html(pages, campaign, placement)))
            for name, source in (
                ("qr.svg", files.svg),
                ("qr.png", files.png),
                ("poster.pdf", files.pdf),
                ("preview.png", files.preview),
            ):
                out.append(Output(f"print/{placement.id}/{name}", source=source))
        for event in campaign.events:
            out.append(Output(f"events/{event.id}/index.md", content=event_markdown(pages, campaign, event), page=True))
            out.append(Output(f"events/{event.id}/event.ics", content=event_ics(pages, campaign, event)))
    out.append(Output("events/index.md", content=events_markdown(pages), page=True))
    for item_id, entry in sorted(pages.retired.items()):
        out.append(Output(f"q/{item_id}/index.html", content=_redirect(pages, retired_target(pages, item_id, entry))))
    return out


def check_site_paths(pages: CampaignPages, urls: set[str]) -> list[Problem]:
    """``redirect_after_end`` paths on this site must be pages that exist (``urls`` as MkDocs gives them)."""
    problems = []
    for campaign in pages.campaigns:
        after = campaign.data.redirect_after_end
        if after and after.startswith("/"):
            path = after.lstrip("/").split("?")[0].split("#")[0]
            if path not in urls and path.rstrip("/") + "/" not in urls and path + "index.html" not in urls:
                problems.append(Problem(
                    f"campaigns/{campaign.slug}/campaign.yml", "redirect_after_end", f"no page at {after} in the site"
                ))
    return problems
