"""The deploy path: samconfig.toml, `cchcc deploy`, functions/Makefile and the deploy guide."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cchcc.local.template import load_template
from cchcc.ops import deploy
from cchcc.project import Project
from tests.conftest import PROJECT, TEMPLATE
from tests.infra.conftest import ROOT

PROGRAMME_SENDER = "no-reply@example.org"  # programme.yml programme.sender_email
GOOD_HASH = "'sha256-" + "A" * 43 + "='"


# --- samconfig.toml -------------------------------------------------------------------------


def test_samconfig_deploys_to_london_with_a_reviewed_change_set():
    config = deploy.read_samconfig(PROJECT.samconfig_file)
    assert config.region == "eu-west-2"
    assert config.stack_name == "cchcc-hub"
    import tomllib

    data = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))["default"]
    assert data["deploy"]["parameters"]["confirm_changeset"] is True
    assert data["deploy"]["parameters"]["capabilities"] == "CAPABILITY_IAM"
    assert data["build"]["parameters"]["cached"] is False  # programme.yml is outside the code folder


def test_samconfig_sets_every_required_parameter_and_nothing_unknown():
    parameters = load_template(TEMPLATE)["Parameters"]
    required = {name for name, p in parameters.items() if "Default" not in p}
    given = set(deploy.read_samconfig(PROJECT.samconfig_file).parameters)
    assert required <= given
    assert given <= set(parameters)
    assert not {"CspScriptHashes", "CspInlineStyles"} & given  # computed from the built site


def test_shipped_sender_matches_the_programme():
    from hub.config import load_programme

    config = deploy.read_samconfig(PROJECT.samconfig_file)
    sender = str(load_programme(PROJECT.programme_file).programme.sender_email)
    assert deploy.check_parameters(config, sender, allow_examples=True) == []


@pytest.mark.parametrize(
    "value, expected",
    [
        ("DomainName=a.example.org AlertEmail=x@example.org", {"DomainName": "a.example.org", "AlertEmail": "x@example.org"}),
        (["DomainName=a.example.org", "MonthlyBudgetUSD=5"], {"DomainName": "a.example.org", "MonthlyBudgetUSD": "5"}),
        ('CspScriptHashes="\'sha256-a=\' \'sha256-b=\'"', {"CspScriptHashes": "'sha256-a=' 'sha256-b='"}),
        (None, {}),
    ],
)
def test_parameter_overrides_are_read_in_both_samconfig_forms(value, expected):
    assert deploy.parse_parameter_overrides(value) == expected


def test_parameter_overrides_reject_a_token_without_equals():
    with pytest.raises(deploy.DeployError, match="DomainName"):
        deploy.parse_parameter_overrides("DomainName")


def _config(**parameters):
    base = {
        "DomainName": "cchcc.leeds.example.net",
        "CertificateArn": "arn:aws:acm:us-east-1:444455556666:certificate/11111111-2222-3333-4444-555555555555",
        "SenderEmail": "hub@leeds.example.net",
        "AlertEmail": "controller@leeds.example.net",
    }
    base.update(parameters)
    return deploy.SamConfig(Path("samconfig.toml"), "cchcc-hub", "eu-west-2", {k: v for k, v in base.items() if v is not None})


def test_check_parameters_names_each_problem():
    assert deploy.check_parameters(_config(), "hub@leeds.example.net") == []
    problems = deploy.check_parameters(_config(SenderEmail="other@leeds.example.net", AlertEmail=None), "hub@leeds.example.net")
    assert any("AlertEmail is missing" in p for p in problems)
    assert any("SenderEmail is other@leeds.example.net but programme.yml sends from hub@leeds.example.net" in p for p in problems)
    examples = deploy.check_parameters(deploy.read_samconfig(PROJECT.samconfig_file), PROGRAMME_SENDER)
    assert any("DomainName is still the example value" in p for p in examples)


# --- Content-Security-Policy from the built site ----------------------------------------------


def test_site_policy_hashes_executable_inline_scripts_only(tmp_path):
    (tmp_path / "index.html").write_text(
        "<html><head><script>__md_scope=new URL('.',location)</script>"
        '<script id="__config" type="application/json">{"base": "."}</script>'
        '<script src="assets/app.js"></script></head>'
        '<body><p style="color: red">x</p></body></html>',
        encoding="utf-8",
    )
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "index.html").write_text(
        "<script>__md_scope=new URL('.',location)</script><a onclick=\"go()\">go</a>", encoding="utf-8"
    )
    policy = deploy.site_policy(tmp_path)
    assert policy.script_hashes == [deploy.csp_hash("__md_scope=new URL('.',location)")]
    assert policy.inline_styles is True
    assert any("onclick" in w and "q/index.html" in w for w in policy.warnings)
    pattern = load_template(TEMPLATE)["Parameters"]["CspScriptHashes"]["AllowedPattern"]
    assert re.fullmatch(pattern, policy.parameters()["CspScriptHashes"])


def test_csp_hash_is_the_browser_sha256_of_the_script_text():
    # sha256("alert('hi')") in base64, as a browser computes it for <script>alert('hi')</script>
    assert deploy.csp_hash("alert('hi')") == "'sha256-" + __import__("base64").b64encode(
        __import__("hashlib").sha256(b"alert('hi')").digest()).decode() + "'"
    assert re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", deploy.csp_hash(""))


def test_site_policy_needs_a_built_site(tmp_path):
    with pytest.raises(deploy.DeployError, match="cchcc build"):
        deploy.site_policy(tmp_path)


def test_overrides_are_quoted_for_sam():
    tokens = deploy.overrides_argument({"CspScriptHashes": f"{GOOD_HASH} {GOOD_HASH}", "DomainName": "a.example.org"})
    assert tokens == [f'CspScriptHashes="{GOOD_HASH} {GOOD_HASH}"', 'DomainName="a.example.org"']


# --- cchcc deploy -----------------------------------------------------------------------------


class FakeRunner(deploy.Runner):
    """Records commands; answers the two AWS CLI questions deploy asks."""

    def __init__(self):
        super().__init__(ROOT, dry_run=False, out=io.StringIO())
        self.commands: list[tuple[list[str], dict[str, str]]] = []

    def run(self, args, *, env=None, capture=False):
        self.commands.append((args, env or {}))
        if args[:3] == ["aws", "sts", "get-caller-identity"]:
            return json.dumps({"Account": "444455556666"})
        if args[:3] == ["aws", "cloudformation", "describe-stacks"]:
            outputs = {"SiteBucketName": "cchcc-site-bucket", "DistributionId": "E2EXAMPLE", "SiteUrl": "https://cchcc.leeds.example.net/"}
            return json.dumps({"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]})
        return ""


@pytest.fixture
def real_looking_programme(tmp_path):
    """programme.yml as a real deployment would have it: its own sender address."""
    path = tmp_path / "programme.yml"
    text = (ROOT / "programme.yml").read_text(encoding="utf-8")
    assert f"sender_email: {PROGRAMME_SENDER}" in text
    path.write_text(text.replace(f"sender_email: {PROGRAMME_SENDER}", "sender_email: hub@leeds.example.net"), encoding="utf-8")
    return path


@pytest.fixture
def real_looking_samconfig(tmp_path):
    path = tmp_path / "samconfig.toml"
    path.write_text(
        '\n'.join([
            "version = 0.1",
            "[default.global.parameters]",
            'stack_name = "cchcc-hub"',
            'region = "eu-west-2"',
            "[default.deploy.parameters]",
            "parameter_overrides = [",
            '  "DomainName=cchcc.leeds.example.net",',
            '  "CertificateArn=arn:aws:acm:us-east-1:444455556666:certificate/11111111-2222-3333-4444-555555555555",',
            '  "SenderEmail=hub@leeds.example.net",',
            '  "AlertEmail=controller@leeds.example.net",',
            "]",
        ]),
        encoding="utf-8",
    )
    return path


def test_deploy_runs_build_deploy_upload_invalidate_in_order(tmp_path, real_looking_samconfig, real_looking_programme):
    project = Project.at(tmp_path, real_looking_programme)
    site = project.site_dir
    site.mkdir(parents=True)
    (site / "index.html").write_text("<script>go()</script>", encoding="utf-8")
    runner = FakeRunner()
    assert deploy.deploy(
        project, config_path=real_looking_samconfig, runner=runner, which=lambda name: f"/usr/bin/{name}",
    ) == 0
    commands = [args for args, _ in runner.commands]
    envs = [env for _, env in runner.commands]
    kinds = [" ".join(a[:3]) if a[0] != sys.executable else "cchcc build" for a in commands]
    assert kinds == [
        "aws sts get-caller-identity",
        "cchcc build",
        "sam build --config-file",
        "sam deploy --config-file",
        "aws cloudformation describe-stacks",
        "aws s3 sync",
        "aws cloudfront create-invalidation",
    ]
    # The site is built from this project, with the programme file being deployed (its partners on the
    # privacy notice and posters) and the real URL in every QR code.
    build = commands[1]
    assert build[build.index("--project") + 1] == str(project.root)
    assert build[build.index("--programme") + 1] == str(real_looking_programme.resolve())
    assert build[build.index("--site-url") + 1] == "https://cchcc.leeds.example.net/"
    assert envs[2]["CCHCC_PROGRAMME_FILE"] == str(real_looking_programme.resolve())
    # `cchcc build` (earlier) writes campaigns.json beside the site; sam build's Makefile copies it.
    assert envs[2]["CCHCC_CAMPAIGNS_FILE"] == str((site.parent / "campaigns.json").resolve())
    # ... and the built thanks page, which the intake function serves with the reference filled in.
    assert envs[2]["CCHCC_THANKS_PAGE"] == str((site / "thanks" / "index.html").resolve())
    sam_deploy = commands[3]
    assert sam_deploy[sam_deploy.index("--region") + 1] == "eu-west-2"
    overrides = sam_deploy[sam_deploy.index("--parameter-overrides") + 1:]
    assert f'CspScriptHashes="{deploy.csp_hash("go()")}"' in overrides
    assert 'DomainName="cchcc.leeds.example.net"' in overrides
    assert commands[5][-4:] == ["s3://cchcc-site-bucket", "--delete", "--region", "eu-west-2"]
    assert commands[6][-4:] == ["--distribution-id", "E2EXAMPLE", "--paths", "/*"]


def test_deploy_without_the_sam_cli_explains_and_changes_nothing(real_looking_samconfig):
    runner = FakeRunner()
    with pytest.raises(deploy.DeployError) as caught:
        deploy.deploy(PROJECT, config_path=real_looking_samconfig, runner=runner, which=lambda name: None)
    message = str(caught.value)
    assert "SAM CLI (`sam`) is not installed" in message and "install-sam-cli" in message
    assert "AWS CLI (`aws`) is not installed" in message
    assert "Nothing was changed" in message
    assert runner.commands == []


def test_deploy_without_credentials_says_how_to_sign_in(real_looking_samconfig, real_looking_programme):
    class NoCredentials(FakeRunner):
        def run(self, args, *, env=None, capture=False):
            if args[:2] == ["aws", "sts"]:
                raise deploy.DeployError("`aws sts get-caller-identity` failed (exit status 255)")
            return super().run(args, env=env, capture=capture)

    runner = NoCredentials()
    with pytest.raises(deploy.DeployError, match="No working AWS credentials.*aws sso login"):
        deploy.deploy(
            Project.at(ROOT, real_looking_programme), config_path=real_looking_samconfig, runner=runner,
            which=lambda name: f"/usr/bin/{name}",
        )
    assert [args[:2] for args, _ in runner.commands] == []  # nothing ran after the failed sign-in check


def test_deploy_refuses_the_example_values():
    with pytest.raises(deploy.DeployError, match="still the example value"):
        deploy.deploy(PROJECT, runner=FakeRunner(), which=lambda name: f"/usr/bin/{name}")


def test_cchcc_deploy_dry_run_prints_the_plan():
    result = subprocess.run(
        [sys.executable, "-m", "cchcc.cli", "deploy", "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    for expected in ("sam build", "sam deploy", "aws s3 sync", "create-invalidation", "--site-url https://"):
        assert expected in result.stdout


def test_cchcc_deploy_has_help():
    result = subprocess.run([sys.executable, "-m", "cchcc.cli", "deploy", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--dry-run" in result.stdout


# --- functions/Makefile -----------------------------------------------------------------------


def _make(target, artifacts, **env):
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT / "functions"), target, f"ARTIFACTS_DIR={artifacts}", "PIP_INSTALL=true"],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env},
    )


@pytest.mark.parametrize("target, package, other", [("build-IntakeFunction", "intake", "router"), ("build-RouterFunction", "router", "intake")])
def test_makefile_artifact_holds_code_and_programme(tmp_path, target, package, other):
    """Given `sam build`'s call (PIP_INSTALL stubbed: no network here), the artifact has
    hub/, the handler package and programme.yml in its root, and nothing else of ours."""
    result = _make(target, tmp_path, CCHCC_PROGRAMME_FILE=str(ROOT / "programme.yml"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / package / "app.py").exists()
    assert (tmp_path / "hub" / "__init__.py").exists() and (tmp_path / "hub" / "templates").is_dir()
    assert (tmp_path / "programme.yml").read_bytes() == (ROOT / "programme.yml").read_bytes()
    assert not (tmp_path / other).exists()
    assert not list(tmp_path.rglob("__pycache__"))


def test_makefile_copies_the_campaigns_catalogue_when_there_is_one(tmp_path):
    catalogue = tmp_path / "campaigns.json"
    catalogue.write_text('{"campaigns": {}, "placements": {}}', encoding="utf-8")
    with_file, without = tmp_path / "with", tmp_path / "without"

    made = _make("build-RouterFunction", with_file, CCHCC_PROGRAMME_FILE=str(ROOT / "programme.yml"),
                 CCHCC_CAMPAIGNS_FILE=str(catalogue))
    assert made.returncode == 0, made.stderr
    assert (with_file / "campaigns.json").read_bytes() == catalogue.read_bytes()

    missing = _make("build-RouterFunction", without, CCHCC_PROGRAMME_FILE=str(ROOT / "programme.yml"),
                    CCHCC_CAMPAIGNS_FILE=str(tmp_path / "nope.json"))
    assert missing.returncode == 0, missing.stderr  # optional: notifications fall back to ids
    assert not (without / "campaigns.json").exists()
    assert "no campaigns file" in missing.stderr


def test_makefile_copies_the_thanks_page_into_the_intake_artifact_when_there_is_one(tmp_path):
    from hub.thanks import reference_box

    page = tmp_path / "index.html"
    page.write_text(f"<!doctype html><title>Thank you</title>{reference_box()}", encoding="utf-8")
    intake, router, without = tmp_path / "intake", tmp_path / "router", tmp_path / "without"
    for target, artifacts in (("build-IntakeFunction", intake), ("build-RouterFunction", router)):
        made = _make(target, artifacts, CCHCC_PROGRAMME_FILE=str(ROOT / "programme.yml"), CCHCC_THANKS_PAGE=str(page))
        assert made.returncode == 0, made.stderr
    assert (intake / "thanks.html").read_bytes() == page.read_bytes()
    assert not (router / "thanks.html").exists()  # only the intake function serves it

    missing = _make("build-IntakeFunction", without, CCHCC_PROGRAMME_FILE=str(ROOT / "programme.yml"),
                    CCHCC_THANKS_PAGE=str(tmp_path / "nope.html"))
    assert missing.returncode == 0, missing.stderr  # optional: the function answers with a short page
    assert not (without / "thanks.html").exists()
    assert "no thanks page" in missing.stderr

    # The handler, imported from the artifact as Lambda would, serves the artifact's thanks.html.
    env = {k: v for k, v in os.environ.items() if k not in ("CCHCC_PROGRAMME_FILE", "CCHCC_THANKS_PAGE")}
    env.update(PYTHONPATH=str(intake), TABLE_NAME="cchcc-referrals", SITE_ORIGIN="https://cchcc.example.org",
               AWS_DEFAULT_REGION="eu-west-2", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    code = "import intake.app as a; print(a.thanks_page.path); print(a.thanks_page.show('ACDE-3467').kind)"
    result = subprocess.run([sys.executable, "-c", code], cwd=intake, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-2:] == [str((intake / "thanks.html").resolve()), "filled"]


def test_built_router_finds_the_catalogue_in_the_task_root(tmp_path):
    """The router, imported from the artifact as Lambda would, names campaigns from the artifact's campaigns.json."""
    catalogue = tmp_path / "source.json"
    catalogue.write_text('{"campaigns": {"lincoln-green": {"title": "Lincoln Green jobs"}}, "placements": {}}',
                         encoding="utf-8")
    artifact = tmp_path / "artifact"
    made = _make("build-RouterFunction", artifact, CCHCC_PROGRAMME_FILE=str(ROOT / "programme.yml"),
                 CCHCC_CAMPAIGNS_FILE=str(catalogue))
    assert made.returncode == 0, made.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("CCHCC_PROGRAMME_FILE", "CCHCC_CAMPAIGNS_FILE")}
    env.update(PYTHONPATH=str(artifact), TABLE_NAME="cchcc-referrals", SITE_ORIGIN="https://cchcc.example.org",
               AWS_DEFAULT_REGION="eu-west-2", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    code = "import router.app as a; print(a.catalogue.campaign_label('lincoln-green'))"
    result = subprocess.run([sys.executable, "-c", code], cwd=artifact, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "Lincoln Green jobs (lincoln-green)"


def test_built_artifact_finds_programme_in_the_task_root(tmp_path):
    """The handler, imported from the artifact as Lambda would, reads the artifact's programme.yml."""
    assert _make("build-IntakeFunction", tmp_path, CCHCC_PROGRAMME_FILE=str(ROOT / "programme.yml")).returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "CCHCC_PROGRAMME_FILE"}
    env.update(PYTHONPATH=str(tmp_path), TABLE_NAME="cchcc-referrals", SITE_ORIGIN="https://cchcc.example.org",
               AWS_DEFAULT_REGION="eu-west-2", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    code = "import intake.app, hub, hub.settings; print(hub.__file__); print(hub.settings.load_settings().programme_file)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    hub_file, programme = result.stdout.split()
    assert Path(hub_file).parent == tmp_path / "hub"
    assert Path(programme) == tmp_path / "programme.yml"


def test_makefile_says_when_programme_is_missing(tmp_path):
    result = _make("build-RouterFunction", tmp_path, CCHCC_PROGRAMME_FILE=str(tmp_path / "nope.yml"))
    assert result.returncode != 0
    assert "programme file" in result.stderr and "CCHCC_PROGRAMME_FILE" in result.stderr


def test_makefile_installs_wheels_for_lambda_arm64_python312():
    makefile = (ROOT / "functions" / "Makefile").read_text(encoding="utf-8")
    for flag in ("--platform manylinux2014_aarch64", "--python-version 3.12", "--only-binary=:all:", "-r requirements.txt"):
        assert flag in makefile


# --- Makefile and the deploy guide ----------------------------------------------------------


def _deploy_targets() -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return re.findall(r"^(deploy[\w-]*):", makefile, re.M)


def test_make_deploy_check_runs_the_offline_checks():
    result = subprocess.run(["make", "-n", "deploy-check"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for expected in ("cchcc check", "cfn-lint infra/template.yaml", "pytest tests/infra", "cchcc build",
                     "cchcc.ops.samcheck --sam .cache/sam/bin/sam"):
        assert expected in result.stdout
    # The SAM CLI goes into the cache folder, never into .venv.
    dry = subprocess.run(["make", "-n", "-B", ".cache/sam/bin/sam"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "venv .cache/sam" in dry.stdout and "aws-sam-cli" in dry.stdout


def test_deploy_guide_mentions_every_deploy_target():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    targets = _deploy_targets()
    assert {"deploy", "deploy-check"} <= set(targets)
    for target in targets:
        assert f"make {target}" in guide, f"docs/deploy.md does not mention `make {target}`"


def test_deploy_guide_names_every_template_parameter_and_the_outputs_it_uses():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    template = load_template(TEMPLATE)
    for name in template["Parameters"]:
        assert name in guide, f"docs/deploy.md does not explain parameter {name}"
    for name in ("DistributionDomainName", "RouterDeadLetterQueueUrl", "SiteBucketName"):
        assert name in guide


def test_deploy_guide_covers_the_steps_in_order():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    headings = [h.lower() for h in re.findall(r"^## (.+)$", guide, re.M)]
    order = ["account", "region", "ses", "certificate", "first deploy", "dns", "programme", "redrive", "tear down", "cost"]
    positions = []
    for word in order:
        found = [i for i, h in enumerate(headings) if word in h]
        assert found, f"no '## ...{word}...' section in docs/deploy.md"
        positions.append(found[0])
    assert positions == sorted(positions), headings


def test_makefile_ships_the_compiled_programme_and_the_artifact_loads_it_without_yaml(tmp_path):
    """`cchcc build`'s programme.json goes into each artifact; the intake, imported from the
    artifact as Lambda would, uses it (no PyYAML, no pydantic), and is missing it gracefully."""
    from hub.config import load_programme
    from hub.programme import write_compiled

    compiled = write_compiled(load_programme(ROOT / "programme.yml"), ROOT / "programme.yml", tmp_path / "programme.json")
    artifact, without = tmp_path / "artifact", tmp_path / "without"
    made = _make("build-IntakeFunction", artifact, CCHCC_PROGRAMME_FILE=str(ROOT / "programme.yml"),
                 CCHCC_PROGRAMME_COMPILED=str(compiled))
    assert made.returncode == 0, made.stderr
    assert (artifact / "programme.json").read_bytes() == compiled.read_bytes()
    missing = _make("build-RouterFunction", without, CCHCC_PROGRAMME_FILE=str(ROOT / "programme.yml"),
                    CCHCC_PROGRAMME_COMPILED=str(tmp_path / "nope.json"))
    assert missing.returncode == 0 and "no compiled programme" in missing.stderr

    code = "import sys, intake.app as a; print(type(a.programme).__name__, 'yaml' in sys.modules, 'pydantic' in sys.modules)"
    result = _run_in_artifact(artifact, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "CompiledProgramme False False"


def _run_in_artifact(artifact: Path, code: str) -> subprocess.CompletedProcess:
    """Python code run with only the artifact on the path and nothing of ours in the environment, as Lambda runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHCC_")}
    env.update(PYTHONPATH=str(artifact), TABLE_NAME="cchcc-referrals", SITE_ORIGIN="https://cchcc.example.org",
               AWS_DEFAULT_REGION="eu-west-2", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    return subprocess.run([sys.executable, "-c", code], cwd=artifact, env=env, capture_output=True, text=True, timeout=120)
