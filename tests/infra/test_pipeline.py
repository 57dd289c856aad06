"""The pipeline: .github/workflows/ci.yml (actionlint clean; `make test` on every push, `make deploy`
on main with OIDC credentials) and infra/github-deploy.yaml (the role it assumes: only main of one
repository, no wildcard actions, nothing beyond deploying the hub's stack and publishing its site)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cchcc.local.template import load_template
from cchcc.ops import deploy
from cchcc.project import Project
from tests.conftest import ROOT
from tests.infra.test_deploy import FakeRunner, real_looking_programme, real_looking_samconfig  # noqa: F401

WORKFLOWS = ROOT / ".github" / "workflows"
DEPLOY_TEMPLATE = ROOT / "infra" / "github-deploy.yaml"


def _workflow() -> dict:
    data = yaml.safe_load((WORKFLOWS / "ci.yml").read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def _steps(job: dict) -> str:
    return "\n".join(str(step.get("run") or step.get("uses")) for step in job["steps"])


def test_actionlint_finds_nothing_in_the_workflows():
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert actionlint, "actionlint is not installed (pyproject.toml test extras: make install)"
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert files
    result = subprocess.run([actionlint, "-no-color", *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_is_not_a_rubber_stamp(tmp_path):
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    broken = (WORKFLOWS / "ci.yml").read_text().replace("github.event_name ==", "github.evnt_name ==")
    (tmp_path / "ci.yml").write_text(broken)
    result = subprocess.run([actionlint, "-no-color", str(tmp_path / "ci.yml")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "evnt_name" in result.stdout


def test_every_push_runs_make_test_as_the_ci_script_does():
    workflow = _workflow()
    assert "push" in workflow["on"] and "branches" not in (workflow["on"]["push"] or {})
    test = workflow["jobs"]["test"]
    assert "make test" in _steps(test)
    assert "if" not in test
    assert workflow["permissions"] == {"contents": "read"}
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_main_deploys_after_the_tests_with_short_lived_oidc_credentials_only():
    job = _workflow()["jobs"]["deploy"]
    assert job["needs"] == "test"
    assert job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    credentials = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"))
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert credentials["with"]["aws-region"] == "eu-west-2"
    text = (WORKFLOWS / "ci.yml").read_text()
    assert "aws-access-key-id" not in text and "secrets." not in text  # no stored keys
    run = _steps(job)
    assert "make deploy" in run and "--no-confirm" in run
    assert "--cloudformation-role ${{ vars.CLOUDFORMATION_ROLE_ARN }}" in run
    assert "--artifacts-bucket ${{ vars.ARTIFACTS_BUCKET }}" in run
    assert job["concurrency"]["cancel-in-progress"] is False


# --- infra/github-deploy.yaml -----------------------------------------------------------------


@pytest.fixture(scope="module")
def oidc():
    return load_template(DEPLOY_TEMPLATE)["Resources"]


def _statements(role: dict) -> list[dict]:
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_the_deploy_template_lints_clean():
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(DEPLOY_TEMPLATE, ManualArgs(regions=["eu-west-2"]))
    assert [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches if m.rule.severity != "informational"] == []


def test_only_main_of_the_one_repository_can_assume_the_deploy_role(oidc):
    (trust,) = oidc["GitHubDeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": {"Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/${Branch}"},
    }}
    assert "StringLike" not in json.dumps(trust)  # no wildcards in who may assume it


def test_the_deploy_role_has_no_wildcard_actions_and_few_wildcard_resources(oidc):
    statements = _statements(oidc["GitHubDeployRole"])
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert actions and all("*" not in a for a in actions), [a for a in actions if "*" in a]
    assert all(s["Effect"] == "Allow" and "NotAction" not in s and "NotResource" not in s for s in statements)
    everywhere = [s for s in statements if s["Resource"] == "*"]
    # Reading a template before it is a stack is all it may do on every resource.
    assert [sorted(s["Action"]) for s in everywhere] == [["cloudformation:GetTemplateSummary", "cloudformation:ValidateTemplate"]]
    services = {a.split(":")[0] for a in actions}
    assert services == {"cloudformation", "iam", "s3", "cloudfront"}
    assert {a for a in actions if a.startswith("iam:")} == {"iam:PassRole"}


def test_the_deploy_role_hands_cloudformation_its_own_role_and_nothing_else(oidc):
    (passing,) = [s for s in _statements(oidc["GitHubDeployRole"]) if s["Action"] == "iam:PassRole"]
    assert passing["Resource"] == {"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]}
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    (trust,) = oidc["CloudFormationExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudformation.amazonaws.com"}


def test_the_deploy_role_reaches_only_the_hub_stack_and_its_site(oidc):
    statements = {s["Sid"]: s for s in _statements(oidc["GitHubDeployRole"])}
    stack = statements["DeployTheHubStack"]["Resource"]["Fn::Sub"]
    assert stack.endswith(":stack/${HubStackName}/*")
    assert statements["SyncTheSite"]["Resource"]["Fn::Sub"].endswith(":s3:::${HubStackName}-sitebucket-*/*")
    assert set(statements["SyncTheSite"]["Action"]) == {"s3:PutObject", "s3:DeleteObject", "s3:GetObject"}
    assert set(statements["ClearTheCache"]["Action"]) == {"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"}


def test_the_pipelines_deploy_passes_its_role_bucket_and_no_prompt_to_sam(tmp_path, real_looking_samconfig, real_looking_programme):  # noqa: F811
    project = Project.at(tmp_path, real_looking_programme)
    project.site_dir.mkdir(parents=True)
    (project.site_dir / "index.html").write_text("<p>hi</p>", encoding="utf-8")
    runner = FakeRunner()
    role = "arn:aws:iam::444455556666:role/cchcc-deploy-CloudFormationExecutionRole-ABC"
    deploy.deploy(project, config_path=real_looking_samconfig, runner=runner, which=lambda n: f"/usr/bin/{n}",
                  pipeline=deploy.Pipeline(True, role, "cchcc-artifacts"))
    sam = next(args for args, _ in runner.commands if args[:2] == ["sam", "deploy"])
    assert "--no-confirm-changeset" in sam
    assert sam[sam.index("--role-arn") + 1] == role and sam[sam.index("--s3-bucket") + 1] == "cchcc-artifacts"
    assert "--resolve-s3" not in sam
    # A person at a terminal gets the change set to confirm, and SAM's own bucket.
    runner = FakeRunner()
    deploy.deploy(project, config_path=real_looking_samconfig, runner=runner, which=lambda n: f"/usr/bin/{n}")
    sam = next(args for args, _ in runner.commands if args[:2] == ["sam", "deploy"])
    assert "--no-confirm-changeset" not in sam and "--resolve-s3" in sam and "--role-arn" not in sam


def test_make_deploy_passes_the_pipelines_arguments_and_the_sam_cli_it_installed():
    result = subprocess.run(["make", "-n", "deploy", "DEPLOY_ARGS=--no-confirm"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert ".cache/sam/bin:" in result.stdout and "cchcc deploy --no-confirm" in result.stdout
