"""Attribution (:mod:`hub.attribution`): a referral counts for a placement only when the build printed it."""

from __future__ import annotations

import json

import pytest

from hub.attribution import NOTHING, RAW_LENGTH, UNKNOWN, Attribution, Known, attribute, load_known

KNOWN = Known(
    campaigns=frozenset({"lincoln-green", "east-leeds"}),
    placements={"lg-library": "lincoln-green", "el-market": "east-leeds"},
    events={"el-jobs-fair-mar": "east-leeds"},
)


@pytest.mark.parametrize(
    ("sent", "recorded"),
    [
        # campaign, source, event as the form sent them -> what is stored
        (("lincoln-green", "lg-library", None), Attribution("lincoln-green", "lg-library", None)),
        ((None, None, None), Attribution(None, None, None)),
        (("lincoln-green", None, None), Attribution("lincoln-green", None, None)),
        # a placement of another campaign takes its own campaign
        (("lincoln-green", "el-market", None), Attribution("east-leeds", "el-market", None)),
        # an unknown or missing campaign with a known placement: the placement's campaign
        (("no-such-campaign", "lg-library", None), Attribution("lincoln-green", "lg-library", None)),
        ((None, "lg-library", None), Attribution("lincoln-green", "lg-library", None)),
        # an unknown placement: kept as unknown, the raw value for the hub
        (("lincoln-green", "lg-libary", None), Attribution("lincoln-green", UNKNOWN, None, source_raw="lg-libary")),
        (("lincoln-green", "Not An Id", None), Attribution("lincoln-green", UNKNOWN, None, source_raw="Not An Id")),
        (("lincoln-green", "x" * 300, None), Attribution("lincoln-green", UNKNOWN, None, source_raw="x" * RAW_LENGTH)),
        (("lincoln-green", "bad\x00\u202eid", None), Attribution("lincoln-green", UNKNOWN, None, source_raw="badid")),
        # unknown campaign and unknown placement: both unknown
        (("nope", "nada", None), Attribution(UNKNOWN, UNKNOWN, None, campaign_raw="nope", source_raw="nada")),
        # events count like placements
        ((None, None, "el-jobs-fair-mar"), Attribution("east-leeds", None, "el-jobs-fair-mar")),
        (("lincoln-green", None, "el-jobs-fair-mar"), Attribution("east-leeds", None, "el-jobs-fair-mar")),
        (("east-leeds", None, "el-jobs-fair-feb"), Attribution("east-leeds", None, UNKNOWN, event_raw="el-jobs-fair-feb")),
        # a placement and an event of different campaigns: the placement decides
        (("x", "lg-library", "el-jobs-fair-mar"), Attribution("lincoln-green", "lg-library", "el-jobs-fair-mar")),
        # a value that is not text (JSON) is not a value
        ((None, 42, ["lg-library"]), Attribution(None, None, UNKNOWN, event_raw="lg-library")),
        (("", "  ", None), Attribution(None, None, None)),
    ],
)
def test_what_is_recorded_for_what_the_form_sent(sent, recorded):
    assert attribute(KNOWN, *sent) == recorded


def test_without_a_catalogue_nothing_can_be_checked_and_values_are_kept():
    assert attribute(NOTHING, "lincoln-green", "anything", "else") == Attribution("lincoln-green", "anything", "else")


def test_the_catalogue_is_read_with_retired_codes_and_a_bad_file_checks_nothing(tmp_path):
    path = tmp_path / "campaigns.json"
    assert load_known(path) is NOTHING and load_known(None) is NOTHING
    path.write_text(json.dumps({
        "campaigns": {"lincoln-green": {"title": "LG"}},
        "placements": {"lg-library": {"name": "Library", "location": None, "campaign": "lincoln-green"}},
        "events": {"el-fair": {"title": "Fair", "when": "Saturday", "campaign": "east-leeds"}},
        "codes": {"lg-old-poster": {"kind": "placement", "campaign": "lincoln-green", "target": "/"},
                  "el-old-fair": {"kind": "event", "campaign": "east-leeds", "target": "/events/"}},
    }), encoding="utf-8")
    known = load_known(path)
    assert known.campaigns == {"lincoln-green"}
    assert dict(known.placements) == {"lg-library": "lincoln-green", "lg-old-poster": "lincoln-green"}
    assert dict(known.events) == {"el-fair": "east-leeds", "el-old-fair": "east-leeds"}
    path.write_text("{broken", encoding="utf-8")
    assert load_known(path) is NOTHING
