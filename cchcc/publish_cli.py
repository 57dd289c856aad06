"""Publishing commands: ``cchcc build`` and ``cchcc campaign new NAME``."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCAFFOLD_YML = """\
# Campaign: {title}
# Check it with:  .venv/bin/cchcc check      Build it with:  .venv/bin/cchcc build
# The landing page will be /campaigns/{slug}/ and its words go in index.md beside this file.

# Shown in the browser tab and on the print pack.
title: {title}
# The big words on the page and on every poster. Keep it short (70 letters at most).
headline: Work in health and care near you
# One line of copy for the posters and under the headline (160 letters at most).
summary: Free local help to find a job, training or a course in health and care.
# Where the campaign runs, in words people know.
area: {title}
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
    name: Local library
    format: poster-a4
    location: Notice board by the front door
    copies: 1
  - id: {prefix}-flyers
    name: Flyers to hand out
    format: flyer-a6
    location: Handed out by the outreach team
    copies: 100
"""

SCAFFOLD_MD = """\
Write a few short sentences here about the jobs and the help on offer.
Use everyday words and short sentences. The form comes first on the page,
so this text is for people who want to know more.

- what kind of jobs there are
- what help local partners give
- that it is free
"""


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    return slug


def cmd_build(args: argparse.Namespace) -> int:
    from cchcc import publish

    site_dir = args.site_dir
    try:
        result = publish.build(site_dir=site_dir, programme_path=args.programme, quiet=not args.verbose)
    except publish.BuildStoppedError as exc:
        print(str(exc), file=sys.stderr)
        print("cchcc build: stopped part-way; the site folder may be incomplete. Fix the problem above and build again", file=sys.stderr)
        return 1
    except publish.PublishError as exc:
        print(str(exc), file=sys.stderr)
        print("cchcc build: stopped; nothing was built", file=sys.stderr)
        return 1
    placements = sum(len(c.placements) for c in result.campaigns)
    made = result.generated
    print(
        f"cchcc build: {len(result.campaigns)} campaign(s), {placements} placement(s); "
        f"{made['pdf']} poster(s) made, {placements - made['pdf']} unchanged; "
        f"{result.seconds:.1f} s"
    )
    print(f"site built in {result.site_dir}")
    print(f"campaign names for the notifications in {publish.catalogue_path(result.site_dir)}")
    return 0


def cmd_campaign_new(args: argparse.Namespace) -> int:
    import datetime as dt

    from cchcc.campaigns import SLUG_RE, campaigns_dir, role_pages

    name = args.name.strip()
    slug = slugify(name)
    if not slug or not SLUG_RE.match(slug):
        print(
            f"cchcc campaign new: {name!r} is not a usable name; use letters, digits and spaces "
            "(for example 'Harehills spring')",
            file=sys.stderr,
        )
        return 2
    folder = campaigns_dir(args.root) / slug
    if folder.exists():
        print(f"cchcc campaign new: {folder} already exists; choose another name", file=sys.stderr)
        return 1
    title = name if name != slug else slug.replace("-", " ").capitalize()
    prefix = "".join(word[0] for word in slug.split("-"))[:6]
    if len(prefix) < 2:
        prefix = slug[:6].rstrip("-")
    known = list(role_pages(args.root))
    chosen = [r for r in ("healthcare-support-worker", "care-worker") if r in known] or known[:2]
    roles = "\n".join(f"  - {r}" for r in chosen) if chosen else "  []"
    if not chosen:
        roles = "  # - care-worker"
    starts = dt.date.today() + dt.timedelta(days=14)
    ends = starts + dt.timedelta(days=90)
    yml = SCAFFOLD_YML.format(title=title, slug=slug, starts=starts, ends=ends, roles=roles, prefix=prefix)
    if not chosen:
        yml = yml.replace("roles:\n  # - care-worker", "roles: []\n  # - care-worker")
    folder.mkdir(parents=True)
    (folder / "campaign.yml").write_text(yml, encoding="utf-8")
    (folder / "index.md").write_text(SCAFFOLD_MD, encoding="utf-8")
    print(f"created {folder / 'campaign.yml'} and {folder / 'index.md'}")
    print(f"next: edit them, then run 'cchcc check' and 'cchcc build'; the page will be /campaigns/{slug}/")
    return 0


def register(subparsers, add_programme_option) -> None:
    build = subparsers.add_parser(
        "build",
        help="check everything, then build the site, campaign pages, QR codes and posters",
        description="Check the programme configuration and every campaign, then build the site "
        "(pages, campaign landing pages, /q/ redirects, QR codes, poster PDFs, print packs). "
        "Nothing is written if a check fails.",
    )
    build.add_argument("--site-dir", type=Path, default=None, help="where to put the site (default: build/site)")
    build.add_argument("-v", "--verbose", action="store_true", help="show MkDocs' progress messages")
    add_programme_option(build)
    build.set_defaults(func=cmd_build)

    campaign = subparsers.add_parser("campaign", help="work with campaigns", description="Work with campaigns.")
    campaign_sub = campaign.add_subparsers(dest="campaign_command", metavar="COMMAND", required=True)
    new = campaign_sub.add_parser(
        "new",
        help="start a new campaign from a commented example",
        description="Create campaigns/<name>/campaign.yml (with comments on every key) and index.md.",
    )
    new.add_argument("name", metavar="NAME", help="campaign name, for example 'Harehills spring'")
    new.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    new.set_defaults(func=cmd_campaign_new)
