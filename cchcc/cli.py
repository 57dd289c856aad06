"""``cchcc``: the command line. Every subcommand has ``--help``.

Three rooms, each registering its own subcommands here, explicitly:

- :mod:`cchcc.site` builds the site from the project's files (``check``, ``build``, ``campaign new``);
- :mod:`cchcc.local` runs the whole hub on this computer (``serve``);
- :mod:`cchcc.ops` operates a deployment, local or on AWS (``redrive``, ``deploy``, ``person``).

The project (:class:`cchcc.project.Project`) is resolved here, once, from the working
directory (or ``--project``) and ``--programme``, and handed to the command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cchcc.local import commands as local_commands
from cchcc.ops import commands as ops_commands
from cchcc.ops import person as person_commands
from cchcc.ops import report_commands
from cchcc.project import Project, ProjectError
from cchcc.site import commands as site_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cchcc",
        description="CCHCC hub: campaign site, QR posters, referral intake and routing.",
    )
    parser.add_argument(
        "--project", type=Path, default=None, metavar="DIR",
        help="work on the project at or above DIR (default: the working directory)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    site_commands.register(sub)
    local_commands.register(sub)
    ops_commands.register(sub)
    person_commands.register(sub)
    report_commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        project = Project.find(args.project, getattr(args, "programme", None))
    except ProjectError as exc:
        print(f"cchcc {args.command}: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args, project) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
