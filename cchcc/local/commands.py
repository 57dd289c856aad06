"""The local room's command: ``cchcc serve``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from cchcc.project import Project, programme_option


def cmd_serve(args: argparse.Namespace, project: Project) -> int:
    from cchcc.local.stack import serve

    return serve(project, port=args.port, host=args.host, site_dir=args.site_dir, faults=args.faults,
                 max_instances=args.instances, edit=args.edit)


def _faults(text: str) -> dict[str, float]:
    from cchcc.local.faults import FaultSpecError, parse

    try:
        return parse(text)
    except FaultSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve",
        help="run the whole hub locally against embedded AWS (moto)",
        description="Run the site, every function of infra/template.yaml and an embedded AWS "
        "(moto) on this computer. Emails land in a local outbox at /_local/; nothing leaves it.",
    )
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="port (default: $PORT or 8000)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--site-dir", type=Path, default=None, help="built site to serve at / (default: build/site)")
    serve.add_argument(
        "--faults", type=_faults, default=None, metavar="NAME=P,...",
        help="fail on purpose to watch the hub recover: ses=0.2 (SES throttles 20%% of emails), "
        "webhook=0.3 (webhooks time out or answer 500), dynamodb=0.1 (DynamoDB refuses calls), "
        "scans=1 (the scans function fails: /q/ falls over to the static redirect)",
    )
    serve.add_argument(
        "--instances", type=int, default=1, metavar="N",
        help="warm worker processes each function may run at once, as Lambda's concurrency (default: 1)",
    )
    serve.add_argument(
        "--edit", action="store_true",
        help="also run the browser editor at /admin/ (Decap CMS's local backend, from node_modules): saves are "
        "checked as `cchcc check` does, written into this project, and the site is rebuilt after each one",
    )
    programme_option(serve)
    serve.set_defaults(func=cmd_serve)
