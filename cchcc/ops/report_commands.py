"""``cchcc report`` (the impact report) and ``cchcc demo`` (synthetic residents for the local stack)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from cchcc.ops.commands import add_target_options
from cchcc.project import Project, programme_option

REPORT_DESCRIPTION = """\
Write the impact report: DIR/index.html (static, printable on A4), report.csv and
report.json, from the referrals table, for the referrals made from --from to --to
(inclusive; default: everything the table holds) and what has happened to them since.

Small numbers are suppressed (1-7 shown as *, others rounded to the nearest 5, and
a second figure hidden where one could be worked out from a total). --unsuppressed
writes the true counts for the data controller, marked NOT FOR PUBLICATION on every
page and file.

Reads one query per month of the table's month index (gsi3), never the whole table.
Items stored before that index existed: run `cchcc report --backfill` once (it scans
the table once and adds the index's keys).

Target: the local stack on --port, or AWS with --aws (--table / $TABLE_NAME).
Prints counts and paths only, never personal data. Exits 1 on bad dates.
"""

DEMO_DESCRIPTION = """\
Send synthetic residents through the real endpoints of the local stack (started by
`make serve`): poster scans, referrals and, through the outcome links in the
notifications, what the spokes record, shaped like the pilot (563 referred, 152
engaged, 116 with more than one spoke, 66 conditional offers, 49 qualified; scaled
with --referrals). Every resident is unmistakably synthetic: "Test Resident 17",
test-resident-17@example.com, Ofcom drama numbers 07700 900000-900999.
Then open /_local/report/ on the stack.
"""


def _target_store(args: argparse.Namespace, project: Project, command: str):
    from cchcc.ops import target as targets
    from hub.storage import DynamoReferralStore

    try:
        target = targets.resolve(project, port=args.port, aws=args.aws, table=args.table,
                                 programme_given=args.programme is not None)
    except targets.TargetError as exc:
        print(f"cchcc {command}: {exc}", file=sys.stderr)
        return None, None
    return target, DynamoReferralStore(target.table_name)


def cmd_report(args: argparse.Namespace, project: Project) -> int:
    from cchcc.ops import report, report_files
    from hub.catalogue import load_catalogue
    from hub.config import ConfigError, load_programme
    from hub.storage import StoreError

    today = datetime.now(UTC).date()
    try:  # bad dates are found before anything is read
        report.period(args.start, args.end, today=today, retention_days=3650)
    except report.ReportError as exc:
        print(f"cchcc report: {exc}", file=sys.stderr)
        return 1
    target, store = _target_store(args, project, "report")
    if store is None:
        return 2
    if args.backfill:
        try:
            updated = store.backfill_month_index()
        except StoreError as exc:
            print(f"cchcc report: the table could not be read: {exc}", file=sys.stderr)
            return 2
        print(f"cchcc report --backfill: {updated} item(s) given the month index's keys ({target.describe(args.port)})")
        return 0
    try:
        programme = load_programme(target.programme_file)
    except ConfigError as exc:
        print(f"cchcc report: {exc}", file=sys.stderr)
        return 2
    try:
        catalogue = load_catalogue(target.catalogue_file) if target.catalogue_file and Path(target.catalogue_file).exists() else None
    except Exception:  # noqa: BLE001 (a broken catalogue: ids are shown as they are)
        catalogue = None
    try:
        window = report.period(args.start, args.end, today=today, retention_days=programme.retention_days)
    except report.ReportError as exc:
        print(f"cchcc report: {exc}", file=sys.stderr)
        return 1
    try:
        made = report.make(store, window, programme=programme, catalogue=catalogue, unsuppressed=args.unsuppressed)
    except StoreError as exc:
        print(f"cchcc report: the table could not be read: {exc}", file=sys.stderr)
        return 2
    out_dir = args.out or project.build_dir / "report"
    files = report_files.write(out_dir, made.data, made.page, unsuppressed=args.unsuppressed)
    for note in window.notes:
        print(f"cchcc report: {note}")
    funnel = made.data["funnel"]
    print(f"cchcc report: {window.start} to {window.end} from the {target.describe(args.port)}: "
          f"{len(window.months)} month(s) read, {made.counts.items_read} item(s); referred {funnel['referred']}, "
          f"engaged {funnel['engaged']}, qualified {funnel['qualified']}"
          + (" (TRUE COUNTS: NOT FOR PUBLICATION)" if args.unsuppressed else " (suppressed for publication)"))
    for path in files:
        print(f"  {project.relative(path)}")
    return 0


def cmd_demo(args: argparse.Namespace, project: Project) -> int:
    from cchcc.ops import demo

    if args.referrals < 1 or args.referrals > 5000:
        print("cchcc demo: --referrals must be between 1 and 5000", file=sys.stderr)
        return 1
    try:
        return demo.run(project, port=args.port, referrals=args.referrals, seed=args.seed)
    except demo.DemoError as exc:
        print(f"cchcc demo: {exc}", file=sys.stderr)
        return 2


def register(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser(
        "report", help="write the impact report (HTML, CSV, JSON) with small numbers suppressed",
        description=REPORT_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("--from", dest="start", metavar="DATE", help="first day of referrals (YYYY-MM-DD)")
    report.add_argument("--to", dest="end", metavar="DATE", help="last day of referrals (YYYY-MM-DD, inclusive)")
    report.add_argument("--out", type=Path, default=None, metavar="DIR", help="where to write (default: build/report/)")
    report.add_argument("--unsuppressed", action="store_true",
                        help="true counts for the data controller, marked NOT FOR PUBLICATION")
    report.add_argument("--backfill", action="store_true",
                        help="one-off: add the month index's keys to items stored before it existed, then stop")
    add_target_options(report)
    programme_option(report)
    report.set_defaults(func=cmd_report)

    demo = sub.add_parser(
        "demo", help="send synthetic residents through the local stack (scans, referrals, outcomes)",
        description=DEMO_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--referrals", type=int, default=563, metavar="N", help="how many referrals (default: 563, the pilot's)")
    demo.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")),
                      help="port of the local stack (default: $PORT or 8000)")
    demo.add_argument("--seed", type=int, default=17, help="random seed (the same seed sends the same residents)")
    programme_option(demo)
    demo.set_defaults(func=cmd_demo)
