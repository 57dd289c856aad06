"""The routing rules: which spoke(s) a referral goes to, and why.

Plain logic over :class:`hub.config.Programme`; :mod:`hub.routing` applies the result
(stores the assignments, sends the notifications).
"""

from __future__ import annotations

from dataclasses import dataclass

from hub import postcodes
from hub.config import Programme, Rule, Spoke
from hub.models import Assignment, Referral

NO_MATCH_RULE = "no-match"
CORRECTION_RULE = "correction"


@dataclass(frozen=True)
class RoutingFacts:
    """The only facts routing may look at (the postcode parsed once)."""

    postcode: postcodes.Postcode
    age: int
    interests: frozenset[str] = frozenset()

    @classmethod
    def of(cls, referral: Referral) -> "RoutingFacts":
        return cls(postcodes.parse(referral.postcode), referral.age, frozenset(referral.interests))

    @classmethod
    def typed(cls, postcode: str, age: int, interests: tuple[str, ...] = ()) -> "RoutingFacts":
        return cls(postcodes.parse(postcode), age, frozenset(interests))


def rule_matches(rule: Rule, facts: RoutingFacts) -> bool:
    """All of a rule's conditions must hold; postcode areas, districts and sectors are alternatives."""
    code = facts.postcode
    if rule.postcode_areas or rule.postcode_districts or rule.postcode_sectors:
        in_place = (
            code.area in rule.postcode_areas
            or code.district in rule.postcode_districts
            or code.sector in rule.postcode_sectors
        )
        if not in_place:
            return False
    if rule.age_min is not None and facts.age < rule.age_min:
        return False
    if rule.age_max is not None and facts.age > rule.age_max:
        return False
    if rule.interests_any and not set(rule.interests_any) & facts.interests:
        return False
    return True


def first_matching_rule(spoke: Spoke, facts: RoutingFacts) -> Rule | None:
    return next((rule for rule in spoke.rules if rule_matches(rule, facts)), None)


def assignments_for(facts: RoutingFacts, programme: Programme) -> list[Assignment]:
    """Assignments in priority order.

    Mode ``primary``: the highest-priority match is notified, other matches are
    recorded as eligible. Mode ``all``: every match is notified. No match: the
    hub's triage is notified.
    """
    matches: list[tuple[Spoke, Rule]] = []
    for spoke in sorted(programme.spokes, key=lambda s: s.priority):
        rule = first_matching_rule(spoke, facts)
        if rule is not None:
            matches.append((spoke, rule))

    if not matches:
        return [
            Assignment(
                spoke=programme.triage.id,
                role="notify",
                rule=NO_MATCH_RULE,
                reason="Matched no spoke's rules, so the hub will decide who can help",
                priority=0,
            )
        ]
    return [
        Assignment(
            spoke=spoke.id,
            role="notify" if programme.routing_mode == "all" or index == 0 else "eligible",
            rule=rule.id,
            reason=rule.description,
            priority=spoke.priority,
        )
        for index, (spoke, rule) in enumerate(matches)
    ]


def with_correction(
    assignments: list[Assignment], told: list[str], corrects: str, programme: Programme
) -> list[Assignment]:
    """A correction's assignments: the rules' (on the corrected answers), and every spoke that was
    notified of the referral it corrects, so whoever holds the old details hears of the new ones.
    A spoke the rules already notify keeps its own reason; one they do not becomes ``notify``
    with the rule ``correction``."""
    out = {a.spoke: a for a in assignments}
    for spoke_id in told:
        current = out.get(spoke_id)
        if current is not None and current.role == "notify":
            continue
        spoke = programme.spoke(spoke_id)
        out[spoke_id] = Assignment(
            spoke=spoke_id,
            role="notify",
            rule=CORRECTION_RULE,
            reason=f"Was sent referral {corrects}, which this corrects",
            priority=spoke.priority if spoke is not None else 0,
        )
    return sorted(out.values(), key=lambda a: (a.priority, a.spoke))
