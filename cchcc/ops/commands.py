"""The operations room's commands: ``cchcc redrive``, ``cchcc deploy`` and ``cchcc keys``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cchcc.project import Project, programme_option

REDRIVE_DESCRIPTION = """\
Route again the referrals whose routing or notification did not complete.

When the router fails on a stream batch more times than its retry limit, the
batch's position (not the referral) goes to the router's dead-letter queue.
This command reads those messages, finds the referrals in each batch from the
table's stream, and routes each one again with the same code the router uses;
then it routes any other referral the table still marks as not routed (which
also covers batches older than the stream's 24-hour retention). A dead-letter
message is deleted once every referral it covers is routed.

Safe to repeat and safe to run while the router is running: a spoke already
notified about a referral is never notified again.

Target: the local stack started by `cchcc serve` on --port (default $PORT or
8000). When no local stack is running there, or with --aws, it works against
AWS with the usual credentials, the table in --table ($TABLE_NAME) and the
queue in --queue-url ($ROUTER_DLQ_URL).

Then it sends the erasure notices (`cchcc person erase`) that have not gone
on every channel, e.g. because a partner's webhook was down.

Prints references and counts only, never personal data. Exits 1 if any
referral could not be routed or notice sent (run it again later), 2 if it cannot start.
"""


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """``--port`` for the local stack, ``--aws`` and ``--table`` for a deployment."""
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", "8000")),
        help="port of the local stack to work on (default: $PORT or 8000)",
    )
    parser.add_argument("--aws", action="store_true", help="work against AWS even if a local stack is running")
    parser.add_argument("--table", help="referrals table name on AWS (default: $TABLE_NAME)")


def cmd_redrive(args: argparse.Namespace, project: Project) -> int:
    from cchcc.ops import target as targets
    from cchcc.ops.redrive import Redriver
    from hub.config import ConfigError
    from hub.settings import SettingsError

    try:
        target = targets.resolve(
            project, port=args.port, aws=args.aws, table=args.table, dead_letter_queue=args.queue_url,
            programme_given=args.programme is not None,
        )
        redriver = Redriver(target, dry_run=args.dry_run)
    except (targets.TargetError, ConfigError, SettingsError) as exc:
        print(f"cchcc redrive: {exc}", file=sys.stderr)
        return 2
    print(f"cchcc redrive: {target.describe(args.port)}{' (dry run: nothing is sent or deleted)' if args.dry_run else ''}")
    redriver.drain_queue()
    redriver.sweep_unrouted()
    redriver.sweep_erasures()
    s = redriver.summary
    print(
        f"cchcc redrive: {s.messages_read} dead-letter message(s) read, {s.messages_deleted} deleted; "
        f"{len(s.routed)} referral(s) routed, {len(s.already)} already routed, "
        f"{len(s.missing)} missing, {len(s.failed)} failed; "
        f"{len(s.notices_sent)} erasure notice(s) sent, {len(s.notices_failed)} failed"
    )
    for reference, reason in s.failed.items():
        print(f"  {reference}: not routed: {reason}; run `cchcc redrive` again later", file=sys.stderr)
    for what, reason in s.notices_failed.items():
        print(f"  erasure notice {what}: {reason}; run `cchcc redrive` again later", file=sys.stderr)
    return 1 if s.failed or s.notices_failed else 0


def cmd_deploy(args: argparse.Namespace, project: Project) -> int:
    from cchcc.ops import deploy

    try:
        return deploy.deploy(
            project, config_path=args.config_file, dry_run=args.dry_run,
            pipeline=deploy.Pipeline(args.no_confirm, args.cloudformation_role, args.artifacts_bucket),
        )
    except deploy.DeployError as exc:
        print(f"cchcc deploy: {exc}", file=sys.stderr)
        return 2


KEYS_DESCRIPTION = """\
Make and rotate the SSM SecureString parameters the functions read (the outcome link
signing key and the person hash key), as infra/template.yaml lists them
(CCHCC::SecureParameters). After rotating the person hash key, run `cchcc person backfill`.
CloudFormation cannot create SecureStrings, so `cchcc deploy` runs `keys ensure`.

  ensure   create each missing parameter (a fresh random key); leave existing ones alone
  rotate   put a new key first and keep the current one as the previous one: links sent
           before keep working, new links use the new key. A second rotation drops the
           oldest key and every link it signed (rotate at most once every
           outcome_link_days unless a key leaked).

Target: the local stack on --port, or AWS with --aws (--region, default samconfig.toml's).
Never prints a key.
"""


def cmd_keys(args: argparse.Namespace, project: Project) -> int:
    import boto3

    from cchcc.local.state import StackState
    from cchcc.ops import keys

    if args.aws:
        region = args.region
        if region is None and project.samconfig_file.exists():
            from cchcc.ops.deploy import DeployError, read_samconfig

            try:
                region = read_samconfig(project.samconfig_file).region
            except DeployError as exc:
                print(f"cchcc keys: {exc}", file=sys.stderr)
                return 2
        ssm = boto3.client("ssm", region_name=region)
        where = f"AWS ({region or 'default region'})"
    else:
        state = StackState.read(project, args.port)
        if state is None:
            print(f"cchcc keys: no local stack is running on port {args.port} (start it with `make serve`), "
                  "or use --aws", file=sys.stderr)
            return 2
        env = state.aws_environment()
        ssm = boto3.client("ssm", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                           aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        where = f"local stack on port {args.port}"
    named = keys.parameters(project, aws=args.aws)
    print(f"cchcc keys {args.action}: {where}")
    try:
        if args.action == "ensure":
            keys.ensure(ssm, named)
        else:
            chosen = [n for n in named if args.name in (None, n.name, n.parameter.template_parameter)]
            if not chosen:
                print(f"cchcc keys: no secure parameter called {args.name}", file=sys.stderr)
                return 2
            for item in chosen:
                keys.rotate(ssm, item)
    except keys.KeysError as exc:
        print(f"cchcc keys: {exc}", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    redrive = sub.add_parser(
        "redrive",
        help="route again the referrals whose routing failed (router dead-letter queue)",
        description=REDRIVE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(redrive)
    redrive.add_argument("--queue-url", help="router dead-letter queue URL on AWS (default: $ROUTER_DLQ_URL)")
    redrive.add_argument("--dry-run", action="store_true", help="list what would be routed; send and delete nothing")
    programme_option(redrive)
    redrive.set_defaults(func=cmd_redrive)

    deploy = sub.add_parser(
        "deploy",
        help="deploy the hub to AWS with the SAM CLI and publish the site (see docs/deploy.md)",
        description=(
            "Build the site for its public URL, build and deploy the SAM stack (infra/template.yaml) "
            "with the parameters in samconfig.toml, upload build/site and invalidate CloudFront. "
            "Needs the SAM CLI, the AWS CLI and AWS credentials."
        ),
    )
    keys = sub.add_parser(
        "keys",
        help="create or rotate the outcome link signing key and the person hash key (SSM SecureStrings)",
        description=KEYS_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    keys.add_argument("action", choices=["ensure", "rotate"], help="ensure: create what is missing; rotate: new key, keep the previous")
    keys.add_argument("name", nargs="?", default=None, help="rotate only this parameter (its name or template parameter)")
    keys.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")),
                      help="port of the local stack to work on (default: $PORT or 8000)")
    keys.add_argument("--aws", action="store_true", help="work on AWS with the usual credentials")
    keys.add_argument("--region", default=None, help="AWS region (default: samconfig.toml's)")
    keys.set_defaults(func=cmd_keys)

    deploy.add_argument("--config-file", type=Path, default=None, help="SAM config (default: samconfig.toml)")
    deploy.add_argument("--dry-run", action="store_true", help="check the configuration and print every command without running any")
    deploy.add_argument(
        "--no-confirm", action="store_true",
        help="deploy the change set without asking (the pipeline: .github/workflows/ci.yml; it was reviewed as a commit)",
    )
    deploy.add_argument(
        "--cloudformation-role", metavar="ARN", default=None,
        help="the role CloudFormation deploys the stack with (infra/github-deploy.yaml's CloudFormationExecutionRoleArn)",
    )
    deploy.add_argument(
        "--artifacts-bucket", metavar="NAME", default=None,
        help="where sam deploy uploads the functions (infra/github-deploy.yaml's ArtifactsBucketName; default: SAM's own)",
    )
    programme_option(deploy)
    deploy.set_defaults(func=cmd_deploy)
