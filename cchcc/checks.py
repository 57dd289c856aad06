"""``cchcc check``: validate everything a deploy or build depends on, reporting file, field and reason."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hub.config import ConfigError, load_programme


def check_programme(programme_path: Path | None, root: Path) -> list[str]:
    """``--programme``, else ``$CCHCC_PROGRAMME_FILE``, else ``./programme.yml``, else the repository's."""
    from_env = os.environ.get("CCHCC_PROGRAMME_FILE")
    path = programme_path or (Path(from_env) if from_env else Path.cwd() / "programme.yml")
    if programme_path is None and not from_env and not path.exists():
        path = root / "programme.yml"
    try:
        load_programme(path)
    except ConfigError as exc:
        return [str(exc)]
    return []


def run(programme_path: Path | None, root: Path) -> int:
    problems = check_programme(programme_path, root)
    try:
        import cchcc.campaigns as campaigns  # added by the publishing work
    except ModuleNotFoundError as exc:
        if exc.name != "cchcc.campaigns":
            raise
    else:
        problems += campaigns.check_all(root)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        count = sum(problem.count("\n") + 1 for problem in problems)
        print(f"cchcc check: {count} problem(s) found", file=sys.stderr)
        return 1
    print("cchcc check: programme configuration and campaigns are valid")
    return 0
