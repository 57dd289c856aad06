"""``cchcc`` command-line entry point. Every subcommand has ``--help``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _add_programme_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--programme",
        type=Path,
        default=None,
        help="programme configuration file (default: $CCHCC_PROGRAMME_FILE or ./programme.yml)",
    )


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the programme configuration (and campaigns, once publishing is installed)."""
    from cchcc import checks

    return checks.run(programme_path=args.programme, root=ROOT)


def cmd_serve(args: argparse.Namespace) -> int:
    from cchcc import localstack

    return localstack.main(port=args.port, host=args.host, programme_path=args.programme, site_dir=args.site_dir)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cchcc",
        description="CCHCC hub: campaign site, QR posters, referral intake and routing.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = sub.add_parser("check", help="validate the programme configuration and every campaign")
    _add_programme_option(check)
    check.set_defaults(func=cmd_check)

    serve = sub.add_parser("serve", help="run the whole hub locally against embedded AWS (moto)")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="port (default: $PORT or 8000)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument(
        "--site-dir", type=Path, default=None, help="built site to serve at / (default: build/site)"
    )
    _add_programme_option(serve)
    serve.set_defaults(func=cmd_serve)

    # Publishing and operations commands register themselves here.
    for module_name in ("cchcc.publish_cli", "cchcc.ops_cli", "cchcc.deploy_cli"):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(sub, _add_programme_option)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
