"""The pages and files campaigns add to the site: landing pages, print packs, ``/q/`` redirects,
QR codes and posters.

Plain Python: the MkDocs hook (``site/hooks/campaigns.py``) turns each :class:`Output`
into a MkDocs file, so the same code can serve another generator (Zensical) later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cchcc.site import qr
from cchcc.site.campaigns import FORMATS, Campaign, Placement
from cchcc.site.printing import PlacementFiles
from hub.config import Programme
from hub.problems import Problem

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Output:
    """One file for the site: ``path`` inside the site, and either text or a file to copy."""

    path: str
    content: str | None = None
    source: Path | None = None
    page: bool = False  # a Markdown page the theme renders


@dataclass(frozen=True)
class CampaignPages:
    """Everything the campaign pages of one build are made from."""

    site_url: str
    site_name: str
    programme: Programme
    campaigns: list[Campaign]
    today: dt.date
    files: dict[str, PlacementFiles]  # by placement id


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


def redirect_target(pages: CampaignPages, campaign: Campaign, placement: Placement) -> str:
    """Where ``/q/<id>/`` sends people: the campaign page, or ``redirect_after_end`` once it has ended."""
    after = campaign.data.redirect_after_end
    if after and campaign.ended(pages.today):
        return after if after.startswith("https://") else site_path(pages, after)
    return site_path(pages, f"campaigns/{campaign.slug}/?s={placement.id}")


def redirect_html(pages: CampaignPages, campaign: Campaign, placement: Placement) -> str:
    return _env().get_template("redirect.html").render(
        target=redirect_target(pages, campaign, placement), site_name=pages.site_name
    )


def _front_matter(meta: dict) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n"


def landing_markdown(pages: CampaignPages, campaign: Campaign) -> str:
    data = campaign.data
    meta = {
        "template": "campaign.html",
        "title": data.title,
        "description": data.summary,
        "hide": ["navigation", "toc", "path"],
        "campaign": {
            "slug": campaign.slug,
            "headline": data.headline,
            "summary": data.summary,
            "area": data.area,
            "ended": campaign.ended(pages.today),
            "ends": data.ends.strftime("%-d %B %Y"),
            "contact_days": pages.programme.programme.contact_within_working_days,
            "roles": [{"title": campaign.role_titles[r], "path": f"careers/{r}/"} for r in data.roles],
        },
    }
    # The form comes straight after the headline and one line of copy, so it is within a thumb's
    # scroll on a phone; the longer copy from index.md follows it. The form is the site's
    # shared form shortcode, so it is the same form as everywhere else.
    body = (
        f'{{{{ form(campaign="{campaign.slug}") }}}}\n\n'
        f"## About this campaign\n\n{campaign.body.strip()}\n"
    )
    return _front_matter(meta) + body


def print_pack_markdown(pages: CampaignPages, campaign: Campaign) -> str:
    items = []
    for placement in campaign.placements:
        files = pages.files[placement.id]
        paper = FORMATS[placement.format]
        items.append(
            {
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
        )
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
            "total_copies": sum(p.copies for p in campaign.placements),
            "placements": items,
        },
    }
    return _front_matter(meta) + (
        f"Everything to print for **{campaign.data.title}**. Each placement has its own QR code, "
        "so we can see which ones work. Put each poster or flyer only where it says.\n"
    )


def outputs(pages: CampaignPages) -> list[Output]:
    """Every file the campaigns add to the site."""
    out: list[Output] = []
    for campaign in pages.campaigns:
        out.append(Output(f"campaigns/{campaign.slug}/index.md", content=landing_markdown(pages, campaign), page=True))
        out.append(
            Output(f"campaigns/{campaign.slug}/print/index.md", content=print_pack_markdown(pages, campaign), page=True)
        )
        for placement in campaign.placements:
            files = pages.files[placement.id]
            out.append(Output(f"q/{placement.id}/index.html", content=redirect_html(pages, campaign, placement)))
            for name, source in (
                ("qr.svg", files.svg),
                ("qr.png", files.png),
                ("poster.pdf", files.pdf),
                ("preview.png", files.preview),
            ):
                out.append(Output(f"print/{placement.id}/{name}", source=source))
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


