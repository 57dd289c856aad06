"""``make deploy-check``'s last step: what the AWS SAM CLI itself says, without an AWS account.

1. ``sam validate --lint``: the SAM CLI's own validation and cfn-lint on ``infra/template.yaml``;
2. ``sam build``: the functions built as a deploy builds them (``functions/Makefile``, arm64
   wheels for Python 3.12), with this project's programme file, campaign catalogue and
   thanks page, into ``build/sam/``;
3. each built function imported from its artifact, as a cold start does: its handler
   module, its settings, ``programme.yml`` and ``campaigns.json`` from the artifact's task
   root, with nothing of this machine's packages but what Lambda's runtime adds (boto3).
   The artifact's compiled wheels are for arm64, so the one compiled package the handlers
   cannot do without (pydantic-core, same version) is put in front of it for this machine. This machine's Python runs the import, which catches every missing file or
   module; Python 3.12 itself (Lambda's) is not on the package registries here;
4. each artifact's size, unzipped and zipped, against Lambda's limits (250 MB and 50 MB).

``python -m cchcc.ops.samcheck --sam PATH`` (the Makefile installs the SAM CLI into
``.cache/sam/`` first, as ``make audit`` installs Lighthouse). Exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cchcc.local.template import Template
from cchcc.project import Project

UNZIPPED_LIMIT = 250 * 1024 * 1024
ZIPPED_LIMIT = 50 * 1024 * 1024


class CheckFailed(Exception):
    """A step failed; the message says which and shows what the tool said."""


@dataclass(frozen=True)
class Artifact:
    function: str
    folder: Path
    unzipped: int
    zipped: int


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None, what: str) -> str:
    print(f"$ {' '.join(args)}", flush=True)
    done = subprocess.run(args, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if done.returncode != 0:
        raise CheckFailed(f"{what} failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")
    return done.stdout + done.stderr


def sam_environment() -> dict[str, str]:
    """No telemetry, no update check, and a region: the SAM CLI needs nothing else here."""
    return {"SAM_CLI_TELEMETRY": "0", "SAM_CLI_DISABLE_UPDATE_CHECK": "1", "AWS_DEFAULT_REGION": "eu-west-2"}


def validate(project: Project, sam: Path) -> None:
    _run([str(sam), "validate", "--lint", "--template-file", str(project.template_file), "--region", "eu-west-2"],
         cwd=project.root, env=sam_environment(), what="sam validate --lint")


def build(project: Project, sam: Path, build_dir: Path) -> None:
    env = {
        **sam_environment(),
        "CCHCC_PROGRAMME_FILE": str(project.programme_file),
        "CCHCC_CAMPAIGNS_FILE": str(project.catalogue_file),
        "CCHCC_THANKS_PAGE": str(project.site_dir / "thanks" / "index.html"),
    }
    shutil.rmtree(build_dir, ignore_errors=True)
    _run([str(sam), "build", "--template-file", str(project.template_file), "--build-dir", str(build_dir),
          "--cache-dir", str(project.root / ".cache" / "sam-build")], cwd=project.root, env=env, what="sam build")


def _size(folder: Path) -> tuple[int, int]:
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                unzipped += path.stat().st_size
                archive.write(path, path.relative_to(folder))
    return unzipped, buffer.tell()


def _runtime_shim(artifact: Path, into: Path) -> None:
    """What Lambda's Python runtime adds to an artifact (boto3), and pydantic-core for this
    machine in the version the artifact has for arm64."""
    [info] = artifact.glob("pydantic_core-*.dist-info")
    version = info.name.removeprefix("pydantic_core-").removesuffix(".dist-info")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(into)]
    _run([*pip, "--no-deps", "--only-binary=:all:", f"pydantic-core=={version}"],
         cwd=artifact, what=f"installing pydantic-core {version} for this machine")
    _run([*pip, "boto3"], cwd=artifact, what="installing boto3 (the Lambda runtime's own)")


IMPORT_CHECK = """
import importlib, json, sys
module, _, _ = sys.argv[1].rpartition(".")
app = importlib.import_module(module)
from hub.settings import load_settings
settings = load_settings()
print(json.dumps({"handler": callable(getattr(app, sys.argv[1].rpartition(".")[2])),
                  "programme": str(settings.programme_file), "exists": settings.programme_file.is_file()}))
"""


def import_handler(artifact: Path, handler: str, shim: Path) -> None:
    """Import the handler from the artifact alone (and the shim), with Lambda's task root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCHCC_", "AWS_", "PYTHON"))}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(shim), str(artifact)]),
        "PYTHONNOUSERSITE": "1",
        "LAMBDA_TASK_ROOT": str(artifact),
        "TABLE_NAME": "cchcc-referrals",
        "SITE_ORIGIN": "https://cchcc.example.org",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_METRICS_NAMESPACE": "CCHCC",
        "OUTCOME_LINK_KEY_PARAMETER": "/cchcc-hub/outcome-link-key",  # read on first use, not at import
    })
    # -S: none of this machine's site-packages, so only what the artifact holds can be imported.
    done = subprocess.run([sys.executable, "-S", "-c", IMPORT_CHECK, handler], cwd=shim, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or '"exists": true' not in done.stdout:
        raise CheckFailed(f"{artifact.name}: {handler} does not start from its artifact:\n{(done.stdout + done.stderr)[-3000:]}")


def check(project: Project, sam: Path) -> list[Artifact]:
    build_dir = project.build_dir / "sam"
    validate(project, sam)
    build(project, sam, build_dir)
    artifacts = []
    with tempfile.TemporaryDirectory(prefix="cchcc-samcheck-") as tmp:
        for logical_id, spec in Template.load(project.template_file).functions().items():
            folder = build_dir / logical_id
            shim = Path(tmp) / logical_id
            _runtime_shim(folder, shim)
            import_handler(folder, spec.handler, shim)
            print(f"  {logical_id}: {spec.handler} imports from its artifact", flush=True)
            artifacts.append(Artifact(logical_id, folder, *_size(folder)))
    return artifacts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cchcc.ops.samcheck", description=__doc__.splitlines()[0])
    parser.add_argument("--sam", type=Path, required=True, help="the SAM CLI to use")
    args = parser.parse_args(argv)
    project = Project.find()
    try:
        artifacts = check(project, args.sam)
    except CheckFailed as exc:
        print(f"deploy-check: {exc}", file=sys.stderr)
        return 1
    problems = 0
    print("deploy-check: artifacts (Lambda allows 250 MB unzipped, 50 MB zipped)")
    for a in artifacts:
        over = a.unzipped > UNZIPPED_LIMIT or a.zipped > ZIPPED_LIMIT
        problems += over
        print(f"  {a.function:16s} {a.unzipped / 1e6:6.1f} MB unzipped  {a.zipped / 1e6:5.1f} MB zipped"
              f"{'  TOO LARGE' if over else ''}")
    print("deploy-check: sam validate --lint, sam build and every handler's import passed" if not problems else
          "deploy-check: an artifact is too large for Lambda")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
