"""``cchcc campaign new NAME``: a new campaign folder from a commented example.

The example explains every key in ``campaign.yml`` where the comms officer will read it:
in the file they are about to edit. Where they must put their own words it says
``[Replace this ...]``: ``cchcc check`` (and ``cchcc build``) refuse a campaign that still has
one, so example text is never published.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from cchcc.project import Project
from cchcc.site.campaigns import CAMPAIGN_FILE, LANDING_FILE, SCAFFOLD_MARKER, SLUG_RE, role_pages

SCAFFOLD_YML = """\
# Campaign: {title}
# Write the landing page copy in index.md, then check it with:  .venv/bin/cchcc check
# Build it with:  .venv/bin/cchcc build
# The landing page will be /campaigns/{slug}/ and its words go in index.md beside this file.

# Shown in the browser tab and on the print pack.
title: {title}
# The big words on the page and on every poster. Keep it short (70 letters at most).
headline: "[Replace this with the headline]"
# One line of copy for the posters and under the headline (160 letters at most).
summary: "[Replace this with one line, e.g. Free local help to find a job or a course in health and care.]"
# Where the campaign runs, in words people know.
area: "[Replace this with the area, e.g. Harehills and Gipton, east Leeds]"
# Optional: the postcode sectors (LS9 7) or districts (LS14) the posters reach. The page then says
# which partner will contact people there, worked out from the routing rules in programme.yml.
postcodes: []
# Optional: other languages for the posters' strapline ("scan, then choose Urdu at the top of the page").
# Use the site's language codes, e.g. [ur, pl, ro].
languages: []
# First and last day (YYYY-MM-DD). The end date must not be before the start date.
starts: {starts}
ends: {ends}
# Optional: where QR codes send people after the campaign ends (a page on this site or https://...).
# Without it they keep opening this campaign's page. Posters cannot be reprinted, so set this.
redirect_after_end: /get-in-touch/
# Up to 6 careers pages to suggest (the file names in site/docs/careers, without .md).
roles:
{roles}
# One entry for every place a poster or flyer goes. Each gets its own QR code.
#   id:      short, lowercase letters, digits and hyphens; unique across ALL campaigns;
#            it is printed in the QR code, so never change it once posters are printed.
#   name:    what the place is.
#   format:  poster-a3, poster-a4, flyer-a5 or flyer-a6.
#   location (optional): exactly where it goes, for the person putting it up.
#   copies (optional, default 1): how many to print.
#   outdoor (optional): true for bus stops and other outside spots (a tougher QR code).
#   viewing_distance_m (optional): how far away people stand, in metres; the QR code is
#            printed at least a tenth of that wide (and never under 2 cm).
placements:
  - id: {prefix}-library
    name: "[Replace this with the place, e.g. Local library]"
    format: poster-a4
    location: "[Replace this with where exactly it goes, e.g. Notice board by the front door]"
    copies: 1
  - id: {prefix}-flyers
    name: "[Replace this with the place, e.g. Flyers handed out at the market]"
    format: flyer-a6
    copies: 100
# Optional: events people can come to. Each gets /events/<id>/, a calendar file and its own QR poster.
#   id, title; starts and ends (Leeds time, e.g. 2027-03-06 10:00); venue; address (no postcode);
#   postcode; access (step-free access); bring (optional); details (optional);
#   booking: none (just come along) or register (the event page has the sign-up form).
events: []
"""

SCAFFOLD_MD = f"""\
{SCAFFOLD_MARKER} about the jobs and the help on offer.
Use everyday words and short sentences. The form comes first on the page,
so this text is for people who want to know more.

- what kind of jobs there are
- what help local partners give
- that it is free
"""


class ScaffoldError(Exception):
    """The campaign cannot be made; ``exit_code`` 2 for a bad name, 1 when it exists already."""

    def __init__(self, message: str, exit_code: int):
        self.exit_code = exit_code
        super().__init__(message)


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    return slug


@dataclass(frozen=True)
class Scaffold:
    slug: str
    folder: Path

    @property
    def files(self) -> tuple[Path, Path]:
        return self.folder / CAMPAIGN_FILE, self.folder / LANDING_FILE


def new_campaign(project: Project, name: str, today: dt.date | None = None) -> Scaffold:
    """Write ``campaigns/<slug>/campaign.yml`` and ``index.md``. Raises ScaffoldError."""
    name = name.strip()
    slug = slugify(name)
    if not slug or not SLUG_RE.match(slug):
        raise ScaffoldError(
            f"{name!r} is not a usable name; use letters, digits and spaces (for example 'Harehills spring')", 2
        )
    folder = project.campaigns_dir / slug
    if folder.exists():
        raise ScaffoldError(f"{project.relative(folder)} already exists; choose another name", 1)
    title = name if name != slug else slug.replace("-", " ").capitalize()
    prefix = "".join(word[0] for word in slug.split("-"))[:6]
    if len(prefix) < 2:
        prefix = slug[:6].rstrip("-")
    known = list(role_pages(project))
    chosen = [r for r in ("healthcare-support-worker", "care-worker") if r in known] or known[:2]
    roles = "\n".join(f"  - {r}" for r in chosen) if chosen else "  # - care-worker"
    starts = (today or dt.date.today()) + dt.timedelta(days=14)
    ends = starts + dt.timedelta(days=90)
    yml = SCAFFOLD_YML.format(title=title, slug=slug, starts=starts, ends=ends, roles=roles, prefix=prefix)
    if not chosen:
        yml = yml.replace("roles:\n  # - care-worker", "roles: []\n  # - care-worker")
    scaffold = Scaffold(slug, folder)
    folder.mkdir(parents=True)
    yml_file, md_file = scaffold.files
    yml_file.write_text(yml, encoding="utf-8")
    md_file.write_text(SCAFFOLD_MD, encoding="utf-8")
    return scaffold
