"""Routing rules: which spoke(s) a referral goes to, and why (DESIGN.md §4, programme configuration).

The sample programme: ``cchcc`` for the target sectors LS9 6, LS9 7 and LS8 5
(priority 1); ``hwf`` for ages 16–25 with an LS postcode (priority 2);
``lcc-employment-skills`` for any LS postcode (priority 3); otherwise the hub.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from hub.config import Programme, Rule, load_programme
from hub.rules import NO_MATCH_RULE, RoutingFacts, assignments_for, rule_matches
from tests.conftest import PROGRAMME as SAMPLE

CCHCC, HWF, LCC, HUB = "cchcc", "hwf", "lcc-employment-skills", "hub"


@pytest.fixture(scope="module")
def sample() -> Programme:
    return load_programme(SAMPLE)


@pytest.fixture(scope="module")
def sample_data() -> dict[str, Any]:
    return yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))


def variant(data: dict[str, Any], **changes: Any) -> Programme:
    """The sample programme with top-level keys replaced, validated like the real file."""
    changed = copy.deepcopy(data)
    changed.update(changes)
    return Programme.model_validate(changed)


def roles(assignments: list) -> list[tuple[str, str]]:
    return [(a.spoke, a.role) for a in assignments]


# --- primary mode with the sample programme ---------------------------------------

PRIMARY = [
    # (postcode, age, expected (spoke, role) in priority order)
    # In the target area: CCHCC first; HWF too when 16-25; LCC always (LS postcode).
    ("LS9 7AB", 20, [(CCHCC, "notify"), (HWF, "eligible"), (LCC, "eligible")]),
    ("LS9 6AB", 40, [(CCHCC, "notify"), (LCC, "eligible")]),
    ("LS8 5AB", 16, [(CCHCC, "notify"), (HWF, "eligible"), (LCC, "eligible")]),
    ("ls97ab", 20, [(CCHCC, "notify"), (HWF, "eligible"), (LCC, "eligible")]),
    ("LS97AB", 30, [(CCHCC, "notify"), (LCC, "eligible")]),
    # Sectors are matched whole: LS19 7 and LS9 8 are not LS9 7.
    ("LS19 7AB", 30, [(LCC, "notify")]),
    ("LS19 7AB", 20, [(HWF, "notify"), (LCC, "eligible")]),
    ("LS9 8AB", 30, [(LCC, "notify")]),
    ("LS9 8AB", 20, [(HWF, "notify"), (LCC, "eligible")]),
    ("LS90 7AB", 30, [(LCC, "notify")]),
    ("LS97 1AB", 30, [(LCC, "notify")]),
    ("LS8 6AB", 30, [(LCC, "notify")]),
    ("LS1 9AB", 30, [(LCC, "notify")]),
    # HWF age range 16-25 inclusive, both ends.
    ("LS1 1AA", 15, [(LCC, "notify")]),
    ("LS1 1AA", 16, [(HWF, "notify"), (LCC, "eligible")]),
    ("LS1 1AA", 25, [(HWF, "notify"), (LCC, "eligible")]),
    ("LS1 1AA", 26, [(LCC, "notify")]),
    ("LS9 7AB", 15, [(CCHCC, "notify"), (LCC, "eligible")]),
    ("LS9 7AB", 25, [(CCHCC, "notify"), (HWF, "eligible"), (LCC, "eligible")]),
    ("LS9 7AB", 26, [(CCHCC, "notify"), (LCC, "eligible")]),
    ("LS9 7AB", 100, [(CCHCC, "notify"), (LCC, "eligible")]),
    # Outside Leeds: the hub triages. "L" (Liverpool) is not "LS"; nor is "S" (Sheffield).
    ("BD1 1AA", 20, [(HUB, "notify")]),
    ("L1 8JQ", 20, [(HUB, "notify")]),
    ("S1 2HE", 20, [(HUB, "notify")]),
    ("LL9 7AB", 20, [(HUB, "notify")]),
    ("M1 1AE", 40, [(HUB, "notify")]),
]


@pytest.mark.parametrize(("postcode", "age", "expected"), PRIMARY)
def test_primary_mode_notifies_the_highest_priority_match_only(
    sample: Programme, postcode: str, age: int, expected: list[tuple[str, str]]
) -> None:
    assert sample.routing_mode == "primary"
    assert roles(assignments_for(RoutingFacts.typed(postcode=postcode, age=age), sample)) == expected


def test_each_assignment_records_the_rule_and_reason(sample: Programme) -> None:
    assignments = assignments_for(RoutingFacts.typed(postcode="LS9 7AB", age=20), sample)
    assert [(a.spoke, a.rule, a.priority) for a in assignments] == [
        (CCHCC, "target-area", 1),
        (HWF, "young-person-leeds", 2),
        (LCC, "leeds-resident", 3),
    ]
    assert [a.reason for a in assignments] == [
        "Postcode is in the target area (LS9 6, LS9 7, LS8 5)",
        "Aged 16 to 25 with a Leeds (LS) postcode",
        "Any Leeds (LS) postcode",
    ]


def test_no_match_goes_to_hub_triage_with_a_reason(sample: Programme) -> None:
    [only] = assignments_for(RoutingFacts.typed(postcode="BD1 1AA", age=30), sample)
    assert (only.spoke, only.role, only.rule) == (HUB, "notify", NO_MATCH_RULE)
    assert only.reason  # says why, for the person who triages it


def test_triage_uses_the_configured_id(sample_data: dict[str, Any]) -> None:
    programme = variant(sample_data, triage={"id": "triage-desk", "name": "Triage", "email": "t@example.org"})
    assert roles(assignments_for(RoutingFacts.typed(postcode="BD1 1AA", age=30), programme)) == [("triage-desk", "notify")]


def test_exactly_one_spoke_is_notified_in_primary_mode(sample: Programme) -> None:
    for postcode, age, _ in PRIMARY:
        notified = [a for a in assignments_for(RoutingFacts.typed(postcode=postcode, age=age), sample) if a.role == "notify"]
        assert len(notified) == 1, (postcode, age)


# --- all mode: a variant programme built in the test -----------------------------

ALL = [
    ("LS9 7AB", 20, [(CCHCC, "notify"), (HWF, "notify"), (LCC, "notify")]),
    ("LS9 7AB", 30, [(CCHCC, "notify"), (LCC, "notify")]),
    ("LS19 7AB", 25, [(HWF, "notify"), (LCC, "notify")]),
    ("LS19 7AB", 26, [(LCC, "notify")]),
    ("BD1 1AA", 20, [(HUB, "notify")]),
]


@pytest.mark.parametrize(("postcode", "age", "expected"), ALL)
def test_all_mode_notifies_every_match(
    sample_data: dict[str, Any], postcode: str, age: int, expected: list[tuple[str, str]]
) -> None:
    programme = variant(sample_data, routing_mode="all")
    assert roles(assignments_for(RoutingFacts.typed(postcode=postcode, age=age), programme)) == expected


def test_priority_not_file_order_decides_who_is_notified(sample_data: dict[str, Any]) -> None:
    reversed_spokes = list(reversed(copy.deepcopy(sample_data["spokes"])))
    programme = variant(sample_data, spokes=reversed_spokes)
    assert programme.spokes[0].id == LCC  # written last-first
    assert roles(assignments_for(RoutingFacts.typed(postcode="LS9 7AB", age=20), programme)) == [
        (CCHCC, "notify"),
        (HWF, "eligible"),
        (LCC, "eligible"),
    ]


def test_a_spoke_appears_once_with_its_first_matching_rule(sample_data: dict[str, Any]) -> None:
    spokes = copy.deepcopy(sample_data["spokes"])
    spokes[0]["rules"].append({"id": "whole-ls9", "description": "Anywhere in LS9", "postcode_districts": ["LS9"]})
    programme = variant(sample_data, spokes=spokes)
    cchcc = [a for a in assignments_for(RoutingFacts.typed(postcode="LS9 7AB", age=40), programme) if a.spoke == CCHCC]
    assert [(a.rule, a.role) for a in cchcc] == [("target-area", "notify")]
    other = [a for a in assignments_for(RoutingFacts.typed(postcode="LS9 1AB", age=40), programme) if a.spoke == CCHCC]
    assert [(a.rule, a.role) for a in other] == [("whole-ls9", "notify")]


# --- interests_any rules ----------------------------------------------------------


@pytest.fixture(scope="module")
def with_science_spoke(sample_data: dict[str, Any]) -> Programme:
    spokes = copy.deepcopy(sample_data["spokes"])
    spokes.append(
        {
            "id": "labs",
            "name": "Pathology labs",
            "organisation": "Leeds Teaching Hospitals",
            "email": "labs@example.org",
            "priority": 4,
            "why": "is interested in science or behind-the-scenes work",
            "receives": ["name", "email", "phone"],
            "rules": [
                {
                    "id": "science-minded",
                    "description": "Interested in science or behind the scenes",
                    "interests_any": ["science", "behind-the-scenes"],
                }
            ],
        }
    )
    return variant(sample_data, spokes=spokes)


@pytest.mark.parametrize(
    ("postcode", "interests", "labs_role"),
    [
        ("BD1 1AA", ("science",), "notify"),  # no postcode condition: anywhere
        ("BD1 1AA", ("behind-the-scenes", "caring"), "notify"),
        ("BD1 1AA", ("caring",), None),
        ("BD1 1AA", (), None),
        ("LS9 7AB", ("science",), "eligible"),  # CCHCC comes first
        ("LS9 7AB", ("caring", "organising"), None),
    ],
)
def test_interests_any_needs_at_least_one_shared_interest(
    with_science_spoke: Programme, postcode: str, interests: tuple[str, ...], labs_role: str | None
) -> None:
    assignments = assignments_for(RoutingFacts.typed(postcode=postcode, age=30, interests=interests), with_science_spoke)
    assert dict(roles(assignments)).get("labs") == labs_role
    if labs_role is None and postcode.startswith("BD"):
        assert roles(assignments) == [(HUB, "notify")]


# --- rule_matches: every condition must hold, postcode lists are alternatives -----


def rule(**conditions: Any) -> Rule:
    return Rule(id="r", description="test rule", **conditions)


RULES = [
    # (rule conditions, postcode, age, interests, matches)
    ({"postcode_sectors": ["LS9 7"]}, "LS9 7AB", 30, (), True),
    ({"postcode_sectors": ["LS9 7"]}, "LS97AB", 30, (), True),
    ({"postcode_sectors": ["LS9 7"]}, "ls9 7zz", 30, (), True),
    ({"postcode_sectors": ["LS9 7"]}, "LS19 7AB", 30, (), False),  # contains "S9 7" but is LS19
    ({"postcode_sectors": ["LS9 7"]}, "LS9 8AB", 30, (), False),
    ({"postcode_sectors": ["LS9 7"]}, "LS91 7AB", 30, (), False),
    ({"postcode_sectors": ["LS9 7"]}, "LS97 1AB", 30, (), False),  # compact "LS971AB" starts with "LS97"
    ({"postcode_sectors": ["ls9  7"]}, "LS9 7AB", 30, (), True),  # config normalised too
    ({"postcode_districts": ["LS9"]}, "LS9 1AA", 30, (), True),
    ({"postcode_districts": ["LS9"]}, "LS19 1AA", 30, (), False),
    ({"postcode_districts": ["LS1"]}, "LS10 1AA", 30, (), False),
    ({"postcode_districts": ["LS1"]}, "LS1 0AA", 30, (), True),
    ({"postcode_areas": ["LS"]}, "LS9 7AB", 30, (), True),
    ({"postcode_areas": ["L"]}, "LS9 7AB", 30, (), False),
    ({"postcode_areas": ["LS"]}, "L1 8JQ", 30, (), False),
    ({"postcode_areas": ["S"]}, "S1 2HE", 30, (), True),
    # alternatives: any one postcode list is enough
    ({"postcode_areas": ["BD"], "postcode_sectors": ["LS9 7"]}, "LS9 7AB", 30, (), True),
    ({"postcode_areas": ["BD"], "postcode_sectors": ["LS9 7"]}, "BD1 1AA", 30, (), True),
    ({"postcode_areas": ["BD"], "postcode_sectors": ["LS9 7"]}, "LS9 6AB", 30, (), False),
    # age bounds are inclusive
    ({"age_min": 16, "age_max": 25}, "LS9 7AB", 15, (), False),
    ({"age_min": 16, "age_max": 25}, "LS9 7AB", 16, (), True),
    ({"age_min": 16, "age_max": 25}, "LS9 7AB", 25, (), True),
    ({"age_min": 16, "age_max": 25}, "LS9 7AB", 26, (), False),
    ({"age_min": 50}, "LS9 7AB", 49, (), False),
    ({"age_min": 50}, "LS9 7AB", 100, (), True),
    ({"age_max": 100}, "LS9 7AB", 100, (), True),
    ({"age_max": 100}, "LS9 7AB", 101, (), False),
    # every condition must hold
    ({"postcode_areas": ["LS"], "age_min": 16, "age_max": 25}, "BD1 1AA", 20, (), False),
    ({"postcode_areas": ["LS"], "age_min": 16, "age_max": 25}, "LS1 1AA", 26, (), False),
    ({"postcode_areas": ["LS"], "interests_any": ["caring"]}, "LS1 1AA", 30, ("caring",), True),
    ({"postcode_areas": ["LS"], "interests_any": ["caring"]}, "LS1 1AA", 30, ("science",), False),
    ({"postcode_areas": ["LS"], "interests_any": ["caring"]}, "BD1 1AA", 30, ("caring",), False),
    ({"interests_any": ["caring", "science"]}, "LS1 1AA", 30, ("science",), True),
    ({"interests_any": ["caring"]}, "LS1 1AA", 30, (), False),
    ({"interests_any": ["caring"]}, "LS1 1AA", 30, ("car",), False),
]


@pytest.mark.parametrize(("conditions", "postcode", "age", "interests", "matches"), RULES)
def test_rule_matches(
    conditions: dict[str, Any], postcode: str, age: int, interests: tuple[str, ...], matches: bool
) -> None:
    facts = RoutingFacts.typed(postcode=postcode, age=age, interests=interests)
    assert rule_matches(rule(**conditions), facts) is matches
