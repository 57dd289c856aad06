"""Registers ``cchcc deploy`` with the command-line entry point."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_deploy(args: argparse.Namespace) -> int:
    from cchcc import deploy

    try:
        return deploy.deploy(config_path=args.config_file, programme_path=args.programme, dry_run=args.dry_run)
    except deploy.DeployError as exc:
        print(f"cchcc deploy: {exc}", file=sys.stderr)
        return 2


def register(sub, add_programme_option) -> None:
    from cchcc.deploy import SAMCONFIG

    parser = sub.add_parser(
        "deploy",
        help="deploy the hub to AWS with the SAM CLI and publish the site (see docs/deploy.md)",
        description=(
            "Build the site for its public URL, build and deploy the SAM stack (infra/template.yaml) "
            "with the parameters in samconfig.toml, upload build/site and invalidate CloudFront. "
            "Needs the SAM CLI, the AWS CLI and AWS credentials."
        ),
    )
    parser.add_argument("--config-file", type=Path, default=SAMCONFIG, help="SAM config (default: samconfig.toml)")
    parser.add_argument("--dry-run", action="store_true", help="check the configuration and print every command without running any")
    add_programme_option(parser)
    parser.set_defaults(func=cmd_deploy)
