"""What every tier of tests shares: where the project is, and the project as the command line sees it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cchcc.project import Project

ROOT = Path(__file__).resolve().parents[1]
PROGRAMME = ROOT / "programme.yml"
TEMPLATE = ROOT / "infra" / "template.yaml"
PROJECT = Project.at(ROOT)


@pytest.fixture(scope="session")
def project() -> Project:
    """This checkout, with its own programme.yml."""
    return PROJECT


@pytest.fixture(scope="session")
def programme():
    """The sample programme configuration, loaded and checked."""
    from hub.config import load_programme

    return load_programme(PROGRAMME)
