"""``cchcc deploy``: deploy the hub to AWS with the SAM CLI, then publish the site.

What it runs, in order (``--dry-run`` prints the plan and runs nothing):

1. checks that the SAM CLI and the AWS CLI are installed and that AWS
   credentials work (``aws sts get-caller-identity``), and says what to do when not;
2. reads ``samconfig.toml`` (stack name, region, ``parameter_overrides``) and checks
   the parameters: ``SenderEmail`` must equal ``programme.sender_email``;
3. ``cchcc build --site-url https://<DomainName>/`` with the same programme file (QR codes
   need the real URL; the privacy notice names the partners of the file being deployed);
4. computes the Content-Security-Policy hashes of the built site's inline scripts;
5. ``sam build`` (``functions/Makefile`` puts programme.yml, the programme.json it compiles to, and the campaigns.json that
   step 3 wrote into each artifact, so notifications name campaigns and placements, and
   the built thanks page into the intake artifact, which serves ``/thanks/`` with the reference);
6. ``sam deploy`` with samconfig's parameters plus the CSP parameters;
7. ``aws s3 sync build/site s3://<SiteBucketName> --delete``;
8. ``aws cloudfront create-invalidation --paths '/*'``.

Everything that can be checked without AWS is in ``make deploy-check``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from cchcc.project import Project, ProjectError

THANKS_PAGE = "thanks/index.html"  # in the site; the intake function serves it with the reference (hub.thanks)
REQUIRED_PARAMETERS = ("DomainName", "CertificateArn", "SenderEmail", "AlertEmail")
# Values shipped in samconfig.toml that must be replaced before a real deploy.
EXAMPLE_MARKERS = ("example.org", "111122223333", "00000000-0000-0000-0000-000000000000")
# CloudFront refuses a Content-Security-Policy longer than this.
CSP_MAX_LENGTH = 1783
CSP_FIXED_LENGTH = 420  # the template's policy without hashes, rounded up

INSTALL_SAM = "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html"
INSTALL_AWS = "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"


class DeployError(Exception):
    """Deploying cannot go on. The message says what is wrong and what to do."""


# --- samconfig.toml --------------------------------------------------------------------------


@dataclass
class SamConfig:
    path: Path
    stack_name: str
    region: str
    parameters: dict[str, str] = field(default_factory=dict)


def parse_parameter_overrides(value: str | list[str] | None) -> dict[str, str]:
    """``Key=Value`` pairs as samconfig.toml holds them (one string, or a list of strings)."""
    if value is None:
        return {}
    items = value if isinstance(value, list) else shlex.split(value)
    parameters: dict[str, str] = {}
    for item in items:
        for token in shlex.split(item) if isinstance(value, list) else [item]:
            key, sep, val = token.partition("=")
            if not sep or not key:
                raise DeployError(f"parameter_overrides: {token!r} is not Key=Value")
            parameters[key] = val
    return parameters


def read_samconfig(path: Path, env: str = "default") -> SamConfig:
    if not path.exists():
        raise DeployError(f"{path}: not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DeployError(f"{path}: {exc}") from exc
    section = data.get(env, {})
    merged: dict[str, Any] = {}
    for command in ("global", "deploy"):
        merged.update(section.get(command, {}).get("parameters", {}))
    for key in ("stack_name", "region"):
        if not merged.get(key):
            raise DeployError(f"{path}: [{env}.global.parameters] {key} is missing")
    return SamConfig(
        path=path,
        stack_name=merged["stack_name"],
        region=merged["region"],
        parameters=parse_parameter_overrides(merged.get("parameter_overrides")),
    )


def check_parameters(config: SamConfig, sender_email: str, *, allow_examples: bool = False) -> list[str]:
    """Problems with samconfig's parameter_overrides, as messages. Empty when all is well."""
    problems = []
    where = f"{config.path.name}: parameter_overrides"
    for name in REQUIRED_PARAMETERS:
        if not config.parameters.get(name):
            problems.append(f"{where}: {name} is missing")
    sender = config.parameters.get("SenderEmail", "")
    if sender and sender.lower() != sender_email.lower():
        problems.append(
            f"{where}: SenderEmail is {sender} but programme.yml sends from {sender_email}; "
            "the router may only send from SenderEmail, so make them the same"
        )
    if not allow_examples:
        for name, value in config.parameters.items():
            if any(marker in value for marker in EXAMPLE_MARKERS):
                problems.append(f"{where}: {name} is still the example value ({value}); set your own")
    return problems


# --- Content-Security-Policy from the built site --------------------------------------------

_EXECUTABLE_TYPES = {"", "text/javascript", "application/javascript", "module", "text/ecmascript"}


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.inline_styles = False
        self.event_handlers: set[str] = set()
        self._script: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k.lower(): (v or "") for k, v in attrs}
        if "style" in names:
            self.inline_styles = True
        self.event_handlers.update(k for k in names if k.startswith("on"))
        if tag == "style":
            self.inline_styles = True
        if tag == "script" and "src" not in names:
            kind = names.get("type", "").strip().lower()
            self._script = [] if kind in _EXECUTABLE_TYPES else None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None


@dataclass
class SitePolicy:
    script_hashes: list[str]
    inline_styles: bool
    warnings: list[str]

    def parameters(self) -> dict[str, str]:
        return {"CspScriptHashes": " ".join(self.script_hashes), "CspInlineStyles": "yes" if self.inline_styles else "no"}


def csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def site_policy(site_dir: Path) -> SitePolicy:
    """What the CSP must allow for the built site: hashes of executable inline scripts
    (``<script type="application/json">`` data blocks need none) and whether inline styles occur."""
    if not (site_dir / "index.html").exists():
        raise DeployError(f"{site_dir}: no built site (run `cchcc build` first)")
    hashes: dict[str, None] = {}
    inline_styles = False
    warnings: list[str] = []
    for page in sorted(site_dir.rglob("*.html")):
        finder = _InlineFinder()
        finder.feed(page.read_text(encoding="utf-8", errors="replace"))
        finder.close()
        for script in finder.scripts:
            hashes.setdefault(csp_hash(script), None)
        inline_styles = inline_styles or finder.inline_styles
        if finder.event_handlers:
            names = ", ".join(sorted(finder.event_handlers))
            warnings.append(f"{page.relative_to(site_dir)}: inline event handler(s) {names} will be blocked by the CSP")
    result = SitePolicy(sorted(hashes), inline_styles, warnings)
    length = CSP_FIXED_LENGTH + len(result.parameters()["CspScriptHashes"])
    if length > CSP_MAX_LENGTH:
        raise DeployError(
            f"{site_dir}: {len(hashes)} different inline scripts make the Content-Security-Policy "
            f"about {length} characters, over CloudFront's {CSP_MAX_LENGTH}; move inline scripts into files"
        )
    return result


# --- the pipeline ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    """How the pipeline deploys (``.github/workflows/ci.yml``): no prompt, CloudFormation acting
    through its own role, and the artifacts bucket of ``infra/github-deploy.yaml``."""

    no_confirm: bool = False
    cloudformation_role: str | None = None
    artifacts_bucket: str | None = None

    def sam_arguments(self) -> list[str]:
        args = ["--no-confirm-changeset"] if self.no_confirm else []
        if self.cloudformation_role:
            args += ["--role-arn", self.cloudformation_role]
        # Where the function artifacts go: the pipeline's bucket, or the SAM CLI's own (it makes one).
        args += ["--s3-bucket", self.artifacts_bucket] if self.artifacts_bucket else ["--resolve-s3"]
        return args


# --- running things --------------------------------------------------------------------------


class Runner:
    """Runs (or, dry, only prints) commands. Tests replace it."""

    def __init__(self, cwd: Path, dry_run: bool = False, out=sys.stdout):
        self.cwd = cwd
        self.dry_run = dry_run
        self.out = out

    def say(self, message: str) -> None:
        print(message, file=self.out, flush=True)

    def run(self, args: list[str], *, env: dict[str, str] | None = None, capture: bool = False) -> str:
        shown = " ".join(shlex.quote(a) for a in args)
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        self.say(f"$ {prefix + ' ' if prefix else ''}{shown}")
        if self.dry_run:
            return ""
        completed = subprocess.run(
            args,
            cwd=self.cwd,
            env={**os.environ, **(env or {})},
            check=False,
            text=True,
            stdout=subprocess.PIPE if capture else None,
        )
        if completed.returncode != 0:
            raise DeployError(f"`{shown}` failed (exit status {completed.returncode})")
        return completed.stdout or ""


def check_tools(which=shutil.which) -> list[str]:
    problems = []
    if which("sam") is None:
        problems.append(f"The AWS SAM CLI (`sam`) is not installed. Install it: {INSTALL_SAM}")
    if which("aws") is None:
        problems.append(f"The AWS CLI (`aws`) is not installed. Install it: {INSTALL_AWS}")
    return problems


def check_credentials(runner: Runner, region: str) -> str:
    """The AWS account id the credentials belong to; DeployError with advice when there are none."""
    try:
        out = runner.run(["aws", "sts", "get-caller-identity", "--region", region, "--output", "json"], capture=True)
    except DeployError as exc:
        raise DeployError(
            "No working AWS credentials. Sign in first, e.g. `aws configure sso` once and then "
            "`aws sso login --profile cchcc` with `export AWS_PROFILE=cchcc` (docs/deploy.md, step 1)."
        ) from exc
    return json.loads(out)["Account"] if out else "(dry run)"


def stack_outputs(runner: Runner, config: SamConfig) -> dict[str, str]:
    out = runner.run(
        ["aws", "cloudformation", "describe-stacks", "--stack-name", config.stack_name,
         "--region", config.region, "--output", "json"],
        capture=True,
    )
    if not out:
        return {"SiteBucketName": "<SiteBucketName>", "DistributionId": "<DistributionId>",
                "SiteUrl": "<SiteUrl>"}
    stack = json.loads(out)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def overrides_argument(parameters: dict[str, str]) -> list[str]:
    """``Key="value"`` tokens for ``sam deploy --parameter-overrides`` (quoted: CSP values hold spaces)."""
    tokens = []
    for key, value in parameters.items():
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        tokens.append(f'{key}="{escaped}"')
    return tokens


def deploy(
    project: Project,
    *,
    config_path: Path | None = None,
    dry_run: bool = False,
    runner: Runner | None = None,
    which=shutil.which,
    pipeline: Pipeline | None = None,
) -> int:
    from hub.config import ConfigError, load_programme

    runner = runner or Runner(project.root, dry_run=dry_run)
    say = runner.say

    tool_problems = check_tools(which)
    if tool_problems and not dry_run:
        raise DeployError("\n".join([*tool_problems, "Then run `make deploy` again. Nothing was changed."]))
    for problem in tool_problems:
        say(f"note: {problem}")

    config = read_samconfig(config_path or project.samconfig_file)
    programme_file = project.programme_file
    try:
        programme = load_programme(project.require_programme())
    except (ConfigError, ProjectError) as exc:
        raise DeployError(str(exc)) from exc
    problems = check_parameters(config, programme.programme.sender_email, allow_examples=dry_run)
    if problems:
        raise DeployError("\n".join(problems))
    domain = config.parameters["DomainName"]
    site_url = f"https://{domain}/"
    site_dir = project.site_dir
    say(f"Deploying stack {config.stack_name} to {config.region} for {site_url}")

    if not tool_problems:
        account = check_credentials(runner, config.region)
        say(f"AWS account {account}")

    say("1/6 build the site with its public URL")
    runner.run([sys.executable, "-m", "cchcc.cli", "--project", str(project.root), "build",
                "--programme", str(programme_file), "--site-url", site_url])

    say("2/6 Content-Security-Policy for the built site's inline scripts")
    if dry_run and not (site_dir / "index.html").exists():
        policy = SitePolicy([], False, ["(dry run: no build/site to read hashes from)"])
    else:
        policy = site_policy(site_dir)
    for warning in policy.warnings:
        say(f"warning: {warning}")
    say(f"  {len(policy.script_hashes)} inline script hash(es); inline styles: {policy.parameters()['CspInlineStyles']}")

    say("3/6 build the functions (functions/Makefile)")
    campaigns_file = project.catalogue_file
    if not dry_run and not campaigns_file.exists():
        say(f"warning: {campaigns_file} not found; notifications will name campaigns and placements by id only")
    thanks_page = site_dir / THANKS_PAGE
    if not dry_run and not thanks_page.exists():
        say(f"warning: {thanks_page} not found; the intake function will answer /thanks/ with a short page")
    built = project.root / ".aws-sam" / "build"
    runner.run(
        ["sam", "build", "--config-file", str(config.path), "--template-file", str(project.template_file),
         "--build-dir", str(built)],
        env={"CCHCC_PROGRAMME_FILE": str(programme_file),
             "CCHCC_CAMPAIGNS_FILE": str(campaigns_file),
             "CCHCC_PROGRAMME_COMPILED": str(project.compiled_programme_file),
             "CCHCC_THANKS_PAGE": str(thanks_page)},
    )

    say("4/6 deploy the stack (review the change set, then confirm)")
    parameters = {**config.parameters, **policy.parameters()}
    runner.run(
        ["sam", "deploy", "--config-file", str(config.path), "--template-file", str(built / "template.yaml"),
         "--stack-name", config.stack_name, "--region", config.region,
         *(pipeline or Pipeline()).sam_arguments(),
         "--parameter-overrides", *overrides_argument(parameters)]
    )

    outputs = stack_outputs(runner, config)
    say("5/6 upload the site")
    runner.run(["aws", "s3", "sync", str(site_dir), f"s3://{outputs['SiteBucketName']}", "--delete",
                "--region", config.region])

    say("6/6 invalidate CloudFront's cache")
    runner.run(["aws", "cloudfront", "create-invalidation", "--distribution-id", outputs["DistributionId"],
                "--paths", "/*"])
    say(f"Done: {outputs.get('SiteUrl', site_url)}")
    return 0
