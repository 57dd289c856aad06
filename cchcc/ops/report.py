"""``cchcc report``: the impact report the Steering Group reads (DESIGN.md §4).

What is counted, and how:

- **The cohort.** The referrals *made* in the period (``--from``/``--to``, inclusive, by
  the referral's ``created_at``), with everything that has happened to them since, up to
  when the report runs. Scans and the reminders' digests count by their own day.
- **Reading.** One query of the table's month index (``gsi3``, :mod:`hub.storage`) per
  month of the period: a month's query returns its referrals with their assignments,
  outcomes and handovers, the digests and the scan counters of the month. Never a scan.
- **A person counts once per cell** (:func:`person_key`): referrals with the same
  normalised email, or the same normalised phone, are one person (joined transitively);
  a referral with neither (erased, say) is a person of its own.
- **The funnel** is referred -> contacted -> engaged -> supported -> offer -> started work
  -> qualified. A status implies the stages before it (:data:`IMPLIES`): a spoke that
  records ``offer`` without ever recording ``engaged`` still has an engaged person, and
  each stage is at most the one before. ``declined`` implies ``contacted`` (they were
  reached to decline); ``not-reached`` and ``closed`` imply nothing.
  ``multi_spoke``: people asked to work with more than one spoke (the hub's triage not
  counted), by routing or by being referred on.
- **Breakdowns** attribute a person's stages to the referral that carries them: by
  campaign, placement (with scans), district (from ``postcode``, or ``district`` on an
  erased referral), channel, event and month; by spoke, a stage is the spoke's own outcomes.
- **Time to first contact**, by spoke: calendar days from when the spoke was asked (the
  referral, or the handover for a person referred on) to its first status that means the
  person was reached (contacted or later, or declined); the median, in whole days.
- **Reminders and escalations**: the digests sent in the period (and the referrals they listed).

Every figure then goes through :mod:`cchcc.ops.suppression` unless ``--unsuppressed``.
The report never holds a name, email, phone, full postcode or free text: only counts and
the ids and names of campaigns, placements, events, spokes and districts.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cchcc.ops.suppression import Published, protect_column, publish

STAGES = ("referred", "contacted", "engaged", "supported", "offer", "started_work", "qualified")
STAGE_LABELS = {
    "referred": "Referred", "contacted": "Contacted", "engaged": "Engaged", "supported": "Supported",
    "offer": "Conditional offer", "started_work": "Started work", "qualified": "Qualified",
    "multi_spoke": "Supported by more than one spoke",
}
# status id (hub.outcomes.STATUSES) -> the funnel stages it means were reached
_FUNNEL_STATUSES = ("contacted", "engaged", "supported", "offer", "started-work", "qualified")
IMPLIES: dict[str, frozenset[str]] = {
    **{status: frozenset(STAGES[1 : i + 2]) for i, status in enumerate(_FUNNEL_STATUSES)},
    "declined": frozenset({"contacted"}),
}
REACHED = frozenset(IMPLIES)  # statuses that mean the person was reached
COLUMNS = (*STAGES, "multi_spoke")
HUB = "hub"
NONE = "(none)"
UNKNOWN = "unknown"


class ReportError(Exception):
    """The report cannot be made as asked; the message says why (the CLI exits 1)."""


# -- the period ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    notes: tuple[str, ...] = ()

    @property
    def months(self) -> list[str]:
        months, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def holds(self, day: str) -> bool:
        return self.start.isoformat() <= day[:10] <= self.end.isoformat()


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{option} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-04-01") from None


def period(start: str | None, end: str | None, *, today: date, retention_days: int) -> Period:
    """The period asked for; without ``--from``, from the oldest day the table can still hold."""
    notes: list[str] = []
    first = _date(start, "--from") if start else today - timedelta(days=retention_days)
    last = _date(end, "--to") if end else today
    if first > today:
        raise ReportError(f"--from {first.isoformat()} is in the future: nothing has happened after today ({today.isoformat()})")
    if last > today:
        notes.append(f"--to {last.isoformat()} is in the future: the report runs to today, {today.isoformat()}.")
        last = today
    if first > last and not start:
        raise ReportError(f"--to {last.isoformat()} is before the oldest day the table can hold ({first.isoformat()}, "
                          "retention_days before today): nothing of it is kept")
    if first > last:
        raise ReportError(f"--from {first.isoformat()} is after --to {last.isoformat()}: the period would be empty")
    return Period(first, last, tuple(notes))


# -- people --------------------------------------------------------------------------------


def _contacts(referral: Mapping[str, Any]) -> list[str]:
    from hub.validation import normalise_phone

    found = []
    email = (referral.get("email") or "").strip().lower()
    if email:
        found.append(f"email:{email}")
    phone = referral.get("phone") or ""
    if phone:
        found.append(f"phone:{normalise_phone(phone) or phone.replace(' ', '')}")
    return found


def person_key(referrals: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """reference -> the key of the person it is about: one key for referrals sharing a
    normalised email or a normalised phone (transitively); the reference itself when a
    referral has neither (an erased one). Keys stay in memory: never published."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[str, str] = {}
    for referral in referrals:
        reference = f"ref:{referral['reference']}"
        find(reference)
        for contact in _contacts(referral):
            parent[find(reference)] = find(contact)
        owner[referral["reference"]] = reference
    return {ref: find(node) for ref, node in owner.items()}


def district_of(referral: Mapping[str, Any]) -> str:
    """The postcode district (``LS9``): from ``postcode``, or ``district`` once erased."""
    from hub.postcodes import PostcodeError, parse

    postcode = referral.get("postcode")
    if postcode:
        try:
            return parse(postcode).district
        except PostcodeError:
            return UNKNOWN
    return referral.get("district") or UNKNOWN


# -- gathering -----------------------------------------------------------------------------


@dataclass
class Case:
    """One referral, as the report sees it: no personal fields kept."""

    reference: str
    person: str
    created_at: str
    campaign: str
    placement: str
    district: str
    channel: str
    event: str
    asked: dict[str, str] = field(default_factory=dict)  # spoke -> when it was asked (notify assignments)
    stages: set[str] = field(default_factory=set)  # across every spoke
    by_spoke: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    first_reached: dict[str, str] = field(default_factory=dict)  # spoke -> first "reached" status time

    @property
    def month(self) -> str:
        return self.created_at[:7]

    @property
    def spokes(self) -> set[str]:
        return {s for s in self.asked if s != HUB}


@dataclass
class Gathered:
    cases: list[Case]
    scans: dict[str, int]  # placement/event id -> scans in the period
    scan_campaign: dict[str, str]
    digests: dict[str, dict[str, int]]  # kind -> {"sent", "referrals_listed"}
    items_read: int = 0
    missing_index: bool = False


def gather(items: Iterable[Mapping[str, Any]], window: Period) -> Gathered:
    """The cases, scans and digests of the period from the month index's items."""
    referrals: dict[str, dict[str, Any]] = {}
    assignments: list[Mapping[str, Any]] = []
    outcomes: list[Mapping[str, Any]] = []
    scans: dict[str, int] = defaultdict(int)
    scan_campaign: dict[str, str] = {}
    digests = {kind: {"sent": 0, "referrals_listed": 0} for kind in ("reminder", "escalation")}
    count = 0
    for item in items:
        count += 1
        kind = item.get("type")
        if kind == "referral":
            if window.holds(item.get("created_at", "")):
                referrals[item["reference"]] = dict(item)
        elif kind == "assignment":
            assignments.append(item)
        elif kind == "outcome":
            outcomes.append(item)
        elif kind == "scan" and window.holds(item.get("day", "")):
            key = item.get("placement") or str(item.get("pk", "")).removeprefix("SCAN#")
            scans[key] += int(item.get("count", 0))
            scan_campaign[key] = item.get("campaign") or ""
        elif kind == "digest" and window.holds(item.get("day", "")) and item.get("kind") in digests:
            if item.get("email_state") == "sent":
                digests[item["kind"]]["sent"] += 1
                digests[item["kind"]]["referrals_listed"] += int(item.get("count", 0))
    people = person_key(referrals.values())
    cases = {
        ref: Case(
            reference=ref, person=people[ref], created_at=data["created_at"],
            campaign=data.get("campaign") or NONE, placement=data.get("source") or NONE,
            district=district_of(data), channel=data.get("channel") or "web", event=data.get("event") or NONE,
        )
        for ref, data in referrals.items()
    }
    for item in assignments:
        case = cases.get(item.get("reference", ""))
        if case is not None and item.get("role") == "notify":
            case.asked[item["spoke"]] = item.get("assigned_at") or item.get("created_at") or case.created_at
    for item in sorted(outcomes, key=lambda o: o.get("at", "")):
        case = cases.get(item.get("reference", ""))
        status = item.get("status", "")
        if case is None or status not in IMPLIES:
            continue
        spoke = item.get("spoke", "")
        case.stages |= IMPLIES[status]
        case.by_spoke[spoke] |= IMPLIES[status]
        if status in REACHED and spoke not in case.first_reached:
            case.first_reached[spoke] = item["at"]
    return Gathered(list(cases.values()), dict(scans), scan_campaign, digests, count)


# -- counting (true counts) ------------------------------------------------------------------


def _people(cases: Iterable[Case], stage: str, spoke: str | None = None) -> int:
    """Distinct people among ``cases`` who reached ``stage`` (at ``spoke`` when given)."""
    found = set()
    for case in cases:
        if stage == "referred":
            found.add(case.person)
        elif stage == "multi_spoke":
            if len(case.spokes) > 1:
                found.add(case.person)
        elif stage in (case.by_spoke.get(spoke, set()) if spoke is not None else case.stages):
            found.add(case.person)
    return len(found)


def _multi_spoke(cases: list[Case]) -> int:
    """People asked by more than one spoke across all their referrals."""
    spokes: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        spokes[case.person] |= case.spokes
    return sum(1 for s in spokes.values() if len(s) > 1)


def row(cases: list[Case], spoke: str | None = None) -> dict[str, int]:
    counts = {stage: _people(cases, stage, spoke) for stage in STAGES}
    counts["multi_spoke"] = _multi_spoke(cases)
    return counts


def _median_days(pairs: list[tuple[str, str]]) -> int | None:
    if not pairs:
        return None
    days = [(_when(end) - _when(start)).total_seconds() / 86400 for start, end in pairs]
    return int(statistics.median(days) + 0.5)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class Counts:
    """The true counts of a report, before suppression."""

    period: Period
    funnel: dict[str, int]
    breakdowns: dict[str, list[tuple[dict[str, str], dict[str, int]]]]  # name -> [(labels, counts)]
    first_contact: list[tuple[str, int, int | None]]  # (spoke, people, median days)
    messages: dict[str, dict[str, int]]
    items_read: int


def count(gathered: Gathered, window: Period, catalogue: Any = None, spokes: Iterable[str] = ()) -> Counts:
    cases = gathered.cases
    groups: dict[str, dict[str, list[Case]]] = {
        name: defaultdict(list) for name in ("campaign", "placement", "district", "channel", "event", "month")
    }
    for case in cases:
        groups["campaign"][case.campaign].append(case)
        groups["placement"][case.placement].append(case)
        groups["district"][case.district].append(case)
        groups["channel"][case.channel].append(case)
        if case.event != NONE:
            groups["event"][case.event].append(case)
    # every month from the first with a referral to the period's end is a row, even an empty one
    first = min((case.month for case in cases), default=window.months[-1])
    for month in window.months:
        if month >= first:
            groups["month"][month] = []
    for case in cases:
        groups["month"][case.month].append(case)
    # every known placement and campaign is a row, even with nothing (a poster nobody scanned)
    if catalogue is not None:
        for placement_id, placement in catalogue.placements.items():
            groups["placement"].setdefault(placement_id, [])
            groups["campaign"].setdefault(placement.campaign, [])
    for placement_id in gathered.scans:
        if catalogue is None or placement_id not in getattr(catalogue, "events", {}):
            groups["placement"].setdefault(placement_id, [])
    for event_id in gathered.scans:
        if catalogue is not None and event_id in getattr(catalogue, "events", {}):
            groups["event"].setdefault(event_id, [])

    def campaign_of(placement_id: str) -> str:
        if catalogue is not None and placement_id in catalogue.placements:
            return catalogue.placements[placement_id].campaign
        if placement_id in gathered.scan_campaign:
            return gathered.scan_campaign[placement_id]
        return next((c.campaign for c in groups["placement"].get(placement_id, [])), "")

    breakdowns: dict[str, list[tuple[dict[str, str], dict[str, int]]]] = {}
    for name, by in groups.items():
        rows = []
        for key in sorted(by, key=lambda k: (k in (NONE, UNKNOWN), k)):
            labels = {name: key}
            counts = row(by[key])
            if name == "placement":
                labels["campaign"] = campaign_of(key)
                counts = {"scans": gathered.scans.get(key, 0), **counts}
            if name == "event":
                counts = {"scans": gathered.scans.get(key, 0), **counts}
            rows.append((labels, counts))
        breakdowns[name] = rows
    asked = sorted({s for c in cases for s in c.asked} | set(spokes), key=lambda s: (s == HUB, s))
    spoke_rows, first_contact = [], []
    for spoke in asked:
        mine = [c for c in cases if spoke in c.asked]
        counts = row(mine, spoke)
        spoke_rows.append(({"spoke": spoke}, counts))
        pairs = [(c.asked[spoke], c.first_reached[spoke]) for c in mine if spoke in c.first_reached]
        if spoke != HUB:
            first_contact.append((spoke, len({c.person for c in mine if spoke in c.first_reached}), _median_days(pairs)))
    breakdowns["spoke"] = spoke_rows
    return Counts(window, row(cases), breakdowns, first_contact, gathered.digests, gathered.items_read)


# -- publishing ------------------------------------------------------------------------------

# breakdowns whose rows add up to the funnel's total (each referral is in exactly one row)
ADDITIVE = ("campaign", "placement", "district", "channel", "month")


def published(counts: Counts, *, suppress: bool = True) -> dict[str, Any]:
    """The report's figures as ``report.json`` holds them (DESIGN.md §4 keys)."""
    keep: Any = (lambda c: c) if not suppress else publish
    funnel = {stage: keep(n) for stage, n in counts.funnel.items()}
    out: dict[str, Any] = {
        "period": {"from": counts.period.start.isoformat(), "to": counts.period.end.isoformat(),
                   "months": counts.period.months},
        "funnel": funnel,
    }
    for name, rows in counts.breakdowns.items():
        measures = list(rows[0][1]) if rows else list(COLUMNS)
        columns: dict[str, list[Published]] = {}
        for measure in measures:
            values = [r[1][measure] for r in rows]
            if not suppress:
                columns[measure] = list(values)
                continue
            total = counts.funnel.get(measure) if name in ADDITIVE and measure in counts.funnel else None
            cells, shown_total = protect_column(values, total)
            if shown_total is not None and shown_total != funnel[measure]:
                funnel[measure] = shown_total  # the total had to hide a cell
            columns[measure] = cells
        out[f"by_{name}"] = [
            {**labels, **{m: columns[m][i] for m in measures}, **({"referrals": columns["referred"][i]} if name == "placement" else {})}
            for i, (labels, _) in enumerate(rows)
        ]
    people = [n for _, n, _ in counts.first_contact]
    shown_people = [keep(n) for n in people]  # not a breakdown of a total: primary suppression only
    out["first_contact"] = []
    for (spoke, _, median), shown in zip(counts.first_contact, shown_people):
        entry: dict[str, Any] = {"spoke": spoke, "people": shown}
        if median is not None:
            entry["median_days"] = "*" if suppress and shown == "*" else median
        out["first_contact"].append(entry)
    out["messages"] = {kind: {k: keep(v) for k, v in figures.items()} for kind, figures in counts.messages.items()}
    return out


# -- reading the table -------------------------------------------------------------------------


# What the report reads of each item: never a name, a note or any other free text. Email and
# phone are read only to tell people apart (person_key), in memory.
ATTRIBUTES = (
    "pk", "type", "reference", "created_at", "campaign", "source", "postcode", "district", "channel", "event",
    "email", "phone", "spoke", "role", "assigned_at", "status", "at", "day", "kind", "count", "placement",
    "email_state",
)


def read(store: Any, window: Period) -> Iterable[dict[str, Any]]:
    """Every item of the period from the month index: one query per month."""
    start, end = window.start.isoformat(), window.end.isoformat()
    for month in window.months:
        yield from store.month_items(month, start, end, ATTRIBUTES)


# -- making it ----------------------------------------------------------------------------------


@dataclass
class Report:
    data: dict[str, Any]  # the published figures (report.json)
    page: str  # index.html
    counts: Counts
    unsuppressed: bool


def labeller(programme: Any = None, catalogue: Any = None):
    """(breakdown, id) -> what a reader sees: names from the programme and the catalogue."""

    def name(kind: str, key: str) -> str:
        if key == NONE:
            return "None recorded"
        if key == UNKNOWN:
            return "Unknown"
        if kind == "spoke":
            if key == HUB:
                return "Hub (triage)"
            return programme.spoke_name(key) if programme is not None else key
        if catalogue is not None:
            if kind == "campaign":
                return catalogue.campaign_label(key)
            if kind == "placement":  # the poster's name and id (its exact spot is for the print pack)
                entry = catalogue.placements.get(key)
                return f"{entry.name} ({key})" if entry else catalogue.placement_label(key)
            if kind == "event":
                return catalogue.event_label(key)
        if kind == "channel":
            return {"web": "Web form", "assisted": "Assisted (outreach staff)"}.get(key, key)
        return key

    return name


def make(store: Any, window: Period, *, programme: Any = None, catalogue: Any = None,
         unsuppressed: bool = False, now: datetime | None = None, charts: bool = True) -> Report:
    """Read the period's months and make the report (figures, page)."""
    from cchcc.ops import report_files

    gathered = gather(read(store, window), window)
    spokes = [s.id for s in programme.spokes] if programme is not None else []
    counts = count(gathered, window, catalogue, spokes)
    data = published(counts, suppress=not unsuppressed)
    data["notes"] = list(window.notes)
    made_at = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    name = programme.programme.name if programme is not None else "CCHCC hub"
    page = report_files.html_page(data, names=labeller(programme, catalogue), programme=name,
                                  made_at=made_at, unsuppressed=unsuppressed, charts=charts)
    return Report(data, page, counts, unsuppressed)
