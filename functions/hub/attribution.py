"""Which campaign, placement and event a referral came from, checked against the build.

The form's hidden ``campaign``, ``source`` (placement) and ``event`` come from the page and
its ``?s=``, so anyone can send anything in them. The impact report counts referrals by
placement, so an id the build never printed must not count as one:

- a placement the catalogue does not know is kept as :data:`UNKNOWN`, its raw value (at most
  :data:`RAW_LENGTH` characters) in ``source_raw`` for the hub to look at, never shown as a
  placement and never logged; the same for an unknown event (``event_raw``) and campaign
  (``campaign_raw``);
- a known placement (or event) decides the campaign: one from another campaign, or with an
  unknown or missing campaign, takes the placement's campaign.

The catalogue is ``campaigns.json`` from the same build as the site (:mod:`hub.catalogue`),
read here with ``json`` alone, so the intake's cold start stays without pydantic. Without a
catalogue nothing can be checked and the values are kept as sent (the local stack and
``cchcc deploy`` always provide one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNKNOWN = "unknown"
RAW_LENGTH = 64


@dataclass(frozen=True)
class Known:
    """What the build made: campaign slugs, and each placement's and event's campaign."""

    campaigns: frozenset[str] = frozenset()
    placements: Mapping[str, str] = field(default_factory=dict)  # id -> campaign
    events: Mapping[str, str] = field(default_factory=dict)  # id -> campaign

    @property
    def empty(self) -> bool:
        return not (self.campaigns or self.placements or self.events)


NOTHING = Known()


def load_known(path: str | os.PathLike[str] | None) -> Known:
    """Read the catalogue at ``path`` (current placements and events, and retired codes whose
    posters are still up); :data:`NOTHING` when there is no file or it cannot be read."""
    if path is None:
        return NOTHING
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        placements = {k: v["campaign"] for k, v in (data.get("placements") or {}).items()}
        events = {k: v["campaign"] for k, v in (data.get("events") or {}).items()}
        for code, entry in (data.get("codes") or {}).items():  # retired codes still bring people
            (events if entry["kind"] == "event" else placements).setdefault(code, entry["campaign"])
        return Known(frozenset(data.get("campaigns") or {}), placements, events)
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return NOTHING  # the router's catalogue load names a bad file; intake must keep taking referrals


def _raw(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str):
        return None
    cleaned = "".join(c for c in value if c.isprintable()).strip()
    return cleaned[:RAW_LENGTH] or None


@dataclass(frozen=True)
class Attribution:
    campaign: str | None
    source: str | None
    event: str | None
    campaign_raw: str | None = None
    source_raw: str | None = None
    event_raw: str | None = None

    def fields(self) -> dict[str, str | None]:
        return {
            "campaign": self.campaign, "source": self.source, "event": self.event,
            "campaign_raw": self.campaign_raw, "source_raw": self.source_raw, "event_raw": self.event_raw,
        }


def attribute(known: Known, campaign: Any, source: Any, event: Any) -> Attribution:
    """The campaign, placement and event to record for what the form sent (raw values)."""
    campaign, source, event = _raw(campaign), _raw(source), _raw(event)
    if known.empty:
        return Attribution(campaign, source, event)
    source_raw = event_raw = campaign_raw = None
    decided = None
    if source is not None:
        if source in known.placements:
            decided = known.placements[source]
        else:
            source, source_raw = UNKNOWN, source
    if event is not None:
        if event in known.events:
            decided = decided or known.events[event]
        else:
            event, event_raw = UNKNOWN, event
    if decided is not None:
        campaign = decided
    elif campaign is not None and campaign not in known.campaigns:
        campaign, campaign_raw = UNKNOWN, campaign
    return Attribution(campaign, source, event, campaign_raw, source_raw, event_raw)
