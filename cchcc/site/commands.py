"""The site room's commands: ``cchcc check``, ``cchcc build`` and ``cchcc campaign new NAME``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cchcc.project import Project, programme_option


def cmd_check(args: argparse.Namespace, project: Project) -> int:
    """Validate the programme configuration, pay.yml and every campaign."""
    from cchcc.site.build import PublishError, SiteContext

    try:
        SiteContext.load(project, strict=True)
    except PublishError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"cchcc check: {len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    print("cchcc check: programme configuration, pay, campaigns and translations are valid")
    return 0


def cmd_build(args: argparse.Namespace, project: Project) -> int:
    from cchcc.site.build import BuildStoppedError, PublishError, build

    try:
        result = build(project, site_dir=args.site_dir, site_url=args.site_url, quiet=not args.verbose)
    except PublishError as exc:
        print(str(exc), file=sys.stderr)
        print("cchcc build: stopped; nothing was built", file=sys.stderr)
        return 1
    except BuildStoppedError as exc:
        print(str(exc), file=sys.stderr)
        print("cchcc build: stopped part-way; the site folder may be incomplete. Fix the problem above and build again", file=sys.stderr)
        return 1
    placements = sum(len(c.placements) for c in result.campaigns)
    events = sum(len(c.events) for c in result.campaigns)
    made = result.generated
    print(
        f"cchcc build: {len(result.campaigns)} campaign(s), {placements} placement(s), {events} event(s); "
        f"{made['pdf']} poster(s) made, {placements + events - made['pdf']} unchanged; "
        f"{result.seconds:.1f} s"
    )
    print(f"site built in {project.relative(result.site_dir)}")
    if result.catalogue_file is not None:
        print(f"campaign names for the notifications in {project.relative(result.catalogue_file)}")
    if result.compiled_programme is not None:
        print(f"the checked programme for the functions in {project.relative(result.compiled_programme)}")
    if result.published_file is not None:
        print(f"new QR code ids recorded in {project.relative(result.published_file)}: commit it, so printed codes keep working")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.warnings:
        print(f"cchcc build: {len(result.warnings)} warning(s); `cchcc check` fails until they are fixed", file=sys.stderr)
    from cchcc.site import qr

    if qr.is_local(result.site_url):
        print(
            f"note: QR codes and posters point at {result.site_url} (this computer), so they are previews, not for "
            "printing; build with --site-url https://your.site/ (or set CCHCC_SITE_URL) to print them"
        )
    return 0


def cmd_translations_update(args: argparse.Namespace, project: Project) -> int:
    from cchcc.site.translations import update

    for path, added, obsolete in update(project):
        print(f"{project.relative(path)}: {added} new message(s) to translate, {obsolete} no longer used")
    print("next: translate the new messages (empty msgstr, or marked #, fuzzy), then run 'cchcc check'")
    return 0


def cmd_translations_new(args: argparse.Namespace, project: Project) -> int:
    from babel.core import UnknownLocaleError

    from cchcc.site.translations import new

    try:
        path = new(project, args.code)
    except (FileExistsError, UnknownLocaleError, ValueError) as exc:
        print(f"cchcc translations new: {exc}", file=sys.stderr)
        return 1
    print(f"created {project.relative(path)}: translate each msgstr, then run 'cchcc check'")
    return 0


def cmd_campaign_new(args: argparse.Namespace, project: Project) -> int:
    from cchcc.site.scaffold import ScaffoldError, new_campaign

    try:
        made = new_campaign(project, args.name)
    except ScaffoldError as exc:
        print(f"cchcc campaign new: {exc}", file=sys.stderr)
        return exc.exit_code
    yml, md = (project.relative(f) for f in made.files)
    print(f"created {yml} and {md}")
    print(f"next: edit them, then run 'cchcc check' and 'cchcc build'; the page will be /campaigns/{made.slug}/")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser(
        "check",
        help="validate the programme configuration, pay and every campaign",
        description="Check programme.yml, site/data/pay.yml and every campaign in campaigns/, "
        "reporting each problem as file: field (line N): reason. Exits 1 if anything is wrong.",
    )
    programme_option(check)
    check.set_defaults(func=cmd_check)

    build = sub.add_parser(
        "build",
        help="check everything, then build the site, campaign pages, QR codes and posters",
        description="Check the programme configuration and every campaign, then build the site "
        "(pages, campaign landing pages, /q/ redirects, QR codes, poster PDFs, print packs). "
        "Nothing is written if a check fails.",
    )
    build.add_argument("--site-dir", type=Path, default=None, help="where to put the site (default: build/site)")
    build.add_argument(
        "--site-url", default=None,
        help="the public address QR codes point at, e.g. https://jobs.example.org/ "
        "(default: site_url in mkdocs.yml, http://127.0.0.1:8000/ for local previews)",
    )
    build.add_argument("-v", "--verbose", action="store_true", help="show MkDocs' progress messages")
    programme_option(build)
    build.set_defaults(func=cmd_build)

    translations = sub.add_parser(
        "translations", help="keep the language files in step with the English words",
        description="Each language is one gettext file, functions/hub/translations/<code>.po, that a translator "
        "edits without code. These commands add new English messages to them and start new languages.",
    )
    translations_sub = translations.add_subparsers(dest="translations_command", metavar="COMMAND", required=True)
    update = translations_sub.add_parser(
        "update", help="add new English messages to every language file",
        description="Find every message marked for translation in the code and templates (Babel) and add the new "
        "ones to every functions/hub/translations/<code>.po; changed ones are marked fuzzy (to check).",
    )
    update.set_defaults(func=cmd_translations_update)
    new_language = translations_sub.add_parser(
        "new", help="start a new language file",
        description="Create functions/hub/translations/<code>.po with every English message, to translate.",
    )
    new_language.add_argument("code", metavar="CODE", help="the language code, for example ar or so")
    new_language.set_defaults(func=cmd_translations_new)

    campaign = sub.add_parser("campaign", help="work with campaigns", description="Work with campaigns.")
    campaign_sub = campaign.add_subparsers(dest="campaign_command", metavar="COMMAND", required=True)
    new = campaign_sub.add_parser(
        "new",
        help="start a new campaign from a commented example",
        description="Create campaigns/<name>/campaign.yml (with comments on every key) and index.md.",
    )
    new.add_argument("name", metavar="NAME", help="campaign name, for example 'Harehills spring'")
    new.set_defaults(func=cmd_campaign_new)
