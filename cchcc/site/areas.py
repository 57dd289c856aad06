"""Who helps people in a campaign's area, worked out with the routing rules themselves.

A campaign lists the postcode sectors (``LS9 7``) or districts (``LS14``) it reaches in
``postcodes:``. Its landing page then says which partner will contact people there, by age
where the rules differ by age, by running :func:`hub.rules.assignments_for` on a postcode in
each place: so the page can never promise the CCHCC team to someone the routing sends elsewhere.
``cchcc check`` refuses a place nobody helps (it would go to the hub's triage) and a district
that the rules split by sector (name the sectors instead).
"""

from __future__ import annotations

from dataclasses import dataclass

from cchcc.project import Project
from hub import form, i18n
from hub.config import Programme
from hub.i18n import N_
from hub.problems import Problem
from hub.rules import RoutingFacts, assignments_for


@dataclass(frozen=True)
class Band:
    low: int
    high: int | None  # None: and older


@dataclass(frozen=True)
class Help:
    places: tuple[str, ...]
    partners: tuple[tuple[Band, tuple[str, ...]], ...]  # for each age band, who is told (in priority order)


def age_bands(programme: Programme) -> list[Band]:
    """The ages at which any rule changes its mind, from 16 (the form's minimum) upwards."""
    cuts = {form.MIN_AGE}
    for spoke in programme.spokes:
        for rule in spoke.rules:
            if rule.age_min is not None:
                cuts.add(rule.age_min)
            if rule.age_max is not None:
                cuts.add(rule.age_max + 1)
    edges = sorted(c for c in cuts if form.MIN_AGE <= c <= form.MAX_AGE)
    return [Band(low, high - 1) for low, high in zip(edges, edges[1:])] + [Band(edges[-1], None)]


def _sample(place: str) -> str:
    """A postcode in ``place``: ``LS9 7`` -> ``LS9 7AB``, ``LS14`` -> ``LS14 1AB``."""
    return f"{place}AB" if " " in place else f"{place} 1AB"


def _told(programme: Programme, place: str, age: int) -> tuple[str, ...]:
    facts = RoutingFacts.typed(_sample(place), age)
    return tuple(programme.spoke_name(a.spoke) for a in assignments_for(facts, programme) if a.role == "notify")


def who_helps(programme: Programme, places: list[str]) -> list[Help]:
    """Places grouped by who will contact people there, at each age."""
    bands = age_bands(programme)
    groups: dict[tuple, list[str]] = {}
    for place in places:
        told = tuple((band, _told(programme, place, band.low)) for band in bands)
        merged: list[tuple[Band, tuple[str, ...]]] = []
        for band, names in told:  # neighbouring bands with the same partners read as one
            if merged and merged[-1][1] == names:
                merged[-1] = (Band(merged[-1][0].low, band.high), names)
            else:
                merged.append((band, names))
        groups.setdefault(tuple(merged), []).append(place)
    return [Help(tuple(found), partners) for partners, found in groups.items()]


def _join(items: list[str], t: i18n.Translator, word: str) -> str:
    if len(items) == 1:
        return items[0]
    message = N_("%(first)s or %(last)s") if word == "or" else N_("%(first)s and %(last)s")
    return t(message, first=", ".join(items[:-1]), last=items[-1])


def sentences(helps: list[Help], lang: str) -> list[dict]:
    """What the landing page says, in ``lang``: ``{"text": ..., "items": [...]}`` per group of places."""
    t = i18n.translator(lang)
    out = []
    for help_ in helps:
        places = _join(list(help_.places), t, "or")
        if len(help_.partners) == 1:
            partners = _join(list(help_.partners[0][1]), t, "and")
            out.append({"text": t(N_("If your postcode starts %(postcodes)s, %(partners)s will contact you."),
                                  postcodes=places, partners=partners), "items": []})
            continue
        items = []
        for band, names in help_.partners:
            partners = _join(list(names), t, "and")
            if band.high is None:
                items.append(t(N_("%(partners)s if you are %(low)s or older"), partners=partners, low=band.low))
            else:
                items.append(t(N_("%(partners)s if you are %(low)s to %(high)s"), partners=partners,
                               low=band.low, high=band.high))
        out.append({"text": t(N_("If your postcode starts %(postcodes)s:"), postcodes=places), "items": items})
    return out


def problems(project: Project, programme: Programme, campaigns) -> list[Problem]:
    """Places in ``postcodes:`` that no partner covers, or that the rules split by sector."""
    from cchcc.site.campaigns import CAMPAIGN_FILE, line_in

    found = []
    sectors = {s for spoke in programme.spokes for rule in spoke.rules for s in rule.postcode_sectors}
    for campaign in campaigns:
        rel = project.relative(campaign.folder / CAMPAIGN_FILE)
        for i, place in enumerate(campaign.data.postcodes):
            line = line_in(project, campaign, ("postcodes", i))
            split = sorted(s for s in sectors if " " not in place and s.split(" ")[0] == place)
            if split:
                found.append(Problem(rel, f"postcodes[{i}]", (
                    f"the routing rules treat parts of {place} differently ({', '.join(split)}); "
                    "list its sectors instead, for example " + split[0]), line))
                continue
            for band in age_bands(programme):
                facts = RoutingFacts.typed(_sample(place), band.low)
                if all(a.spoke == programme.triage.id for a in assignments_for(facts, programme)):
                    found.append(Problem(rel, f"postcodes[{i}]", (
                        f"no partner in programme.yml helps people in {place} (aged {band.low}); they would all go to "
                        "the hub's triage: check the area or the routing rules"), line))
                    break
    return found
