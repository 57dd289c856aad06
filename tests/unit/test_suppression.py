"""Suppression and rounding of published figures, a row per case (cchcc.ops.suppression).

Includes the cases a careless implementation misses: a small count rounded instead of
hidden (6 -> 5), a total made by adding rounded cells, one hidden cell recoverable from
the total, a percentage of true counts that undoes the rounding, a division by zero.
"""

from __future__ import annotations

import pytest

from cchcc.ops.report import Counts, Period, published
from cchcc.ops.suppression import protect_column, publish, rate


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, 0),  # zero is shown as it is
        (1, "*"), (5, "*"), (6, "*"),  # 6 is hidden, not rounded to 5
        (7, "*"),  # the largest suppressed count
        (8, 10),  # the smallest published count: rounded, never shown as 8
        (10, 10), (12, 10), (13, 15), (17, 15), (18, 20),  # nearest 5, halves up
        (563, 565), (152, 150), (66, 65), (49, 50), (116, 115),  # the pilot's figures
    ],
)
def test_primary_suppression_and_rounding(count, shown):
    assert publish(count) == shown


def test_a_negative_count_is_a_bug_not_a_figure():
    with pytest.raises(ValueError):
        publish(-1)


@pytest.mark.parametrize(
    ("cells", "total", "shown_cells", "shown_total"),
    [
        # nothing small: every cell and the total rounded on their own (24 -> 25, not 10+10+10 = 30)
        ([8, 8, 8], 24, [10, 10, 10], 25),
        # exactly one hidden cell: the next smallest non-zero cell is hidden too, so that
        # total minus the others does not give it away
        ([40, 3, 12, 30], 85, [40, "*", "*", 30], 85),
        # ties: the first of the smallest goes
        ([3, 20, 20], 43, ["*", "*", 20], 45),
        # a zero cannot hide anything (it is shown as 0): the next non-zero one goes
        ([0, 4, 0, 50], 54, [0, "*", 0, "*"], 55),
        # one hidden cell and no other cell to hide it with: the total goes
        ([0, 5, 0], 5, [0, "*", 0], "*"),
        ([5], 12, ["*"], "*"),
        # two hidden already: no more is needed
        ([2, 3, 40], 45, ["*", "*", 40], 45),
        # nothing at all
        ([0, 0], 0, [0, 0], 0),
        ([], 0, [], 0),
    ],
)
def test_secondary_suppression_in_a_breakdown(cells, total, shown_cells, shown_total):
    assert protect_column(cells, total) == (shown_cells, shown_total)


def test_secondary_suppression_without_a_total_still_hides_a_second_cell():
    # By spoke a person may be in two rows, so there is no total; a lone hidden cell still gets company.
    assert protect_column([9, 2, 30]) == (["*", "*", 30], None)


@pytest.mark.parametrize(
    ("part", "whole", "percent"),
    [
        (publish(152), publish(563), 27),  # from published 150 / 565, not 152 / 563 (which would be 27.0 too: 26.5 -> 27)
        (publish(9), publish(12), 100),  # true 75 %: the rate of published figures, so it reveals nothing more
        ("*", 40, "*"), (40, "*", "*"), ("*", "*", "*"),  # a rate of a hidden figure is hidden
        (0, 0, None),  # an empty period: no rate, no division by zero
        (0, 20, 0),
    ],
)
def test_rates_come_from_published_figures(part, whole, percent):
    assert rate(part, whole) == percent


def _counts(funnel, by_campaign):
    from datetime import date

    return Counts(
        period=Period(date(2026, 1, 1), date(2026, 1, 31)),
        funnel=funnel,
        breakdowns={"campaign": [({"campaign": name}, row) for name, row in by_campaign.items()]},
        first_contact=[("cchcc", 3, 2), ("hwf", 40, 4)],
        messages={"reminder": {"sent": 12, "referrals_listed": 3}},
        items_read=0,
    )


def _row(referred, engaged):
    return {"referred": referred, "contacted": referred, "engaged": engaged, "supported": 0, "offer": 0,
            "started_work": 0, "qualified": 0, "multi_spoke": 0}


def test_published_report_holds_only_integers_or_stars_and_hides_a_lone_small_campaign():
    counts = _counts(_row(60, 9), {"a": _row(50, 9), "b": _row(6, 0), "c": _row(4, 0)})
    data = published(counts)
    rows = {r["campaign"]: r for r in data["by_campaign"]}
    assert (rows["a"]["referred"], rows["b"]["referred"], rows["c"]["referred"]) == (50, "*", "*")
    # engaged: a's 9 is the only non-zero cell: published (10) and the total on its own (10)
    assert rows["a"]["engaged"] == 10 and data["funnel"]["engaged"] == 10
    # a spoke's first-contact median goes with its count of people
    assert data["first_contact"][0] == {"spoke": "cchcc", "people": "*", "median_days": "*"}
    assert data["first_contact"][1] == {"spoke": "hwf", "people": 40, "median_days": 4}

    def figures(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                if key not in ("campaign", "spoke", "period"):
                    yield from figures(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from figures(inner)
        else:
            yield value

    assert {type(v) for v in figures(data)} <= {int, str}
    assert {v for v in figures(data) if isinstance(v, str)} == {"*"}


def test_unsuppressed_keeps_true_counts():
    data = published(_counts(_row(60, 9), {"a": _row(54, 9), "b": _row(6, 0)}), suppress=False)
    assert data["funnel"]["referred"] == 60 and data["by_campaign"][1]["referred"] == 6
