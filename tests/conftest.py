"""What every tier of tests shares: where the project is, and the project as the command line sees it."""

from __future__ import annotations

from pathlib import Path

import os

import pytest
from hypothesis import settings

from cchcc.project import Project

ROOT = Path(__file__).resolve().parents[1]
PROGRAMME = ROOT / "programme.yml"
TEMPLATE = ROOT / "infra" / "template.yaml"
PROJECT = Project.at(ROOT)

# Property-based tests: bounded and repeatable in `make test` ("ci"); `make fuzz` runs "fuzz".
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("fuzz", max_examples=10_000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def project() -> Project:
    """This checkout, with its own programme.yml."""
    return PROJECT


@pytest.fixture(scope="session")
def programme():
    """The sample programme configuration, loaded and checked."""
    from hub.config import load_programme

    return load_programme(PROGRAMME)
