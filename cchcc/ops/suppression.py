"""Small numbers suppressed before a figure is published (DESIGN.md §4, the impact report).

Three rules, each a pure function here (the report applies them; tests read like a table):

1. **Primary** (:func:`publish`): a count of 1 to 7 is ``"*"``; zero is ``0``; anything
   else is rounded to the nearest 5 (halves up: 8 -> 10, 12 -> 10, 13 -> 15). A total is
   rounded from its own true value, never summed from rounded cells.
2. **Secondary** (:func:`protect_column`): in a breakdown whose cells add up to a published
   total (by campaign, placement, district, channel, month …), a column with exactly one
   suppressed cell would let a reader take the other cells from the total and narrow it
   down; the next smallest non-zero cell is suppressed too (the total instead, when there is
   no other cell to hide it with). Stages of one row (referred -> … -> qualified) are
   nested, not added: each is at most the one before, so a stage after a suppressed one is
   itself 0 or suppressed, and no stage is a sum of others.
3. **Rates** (:func:`rate`): a percentage is worked out from the *published* figures, never
   the true ones (a percentage of true counts would undo the rounding), and is suppressed
   when either figure is suppressed; with nothing to divide by there is no rate (None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

SUPPRESSED: Literal["*"] = "*"
SMALL = 7  # counts from 1 to this are suppressed
ROUND_TO = 5

Published = int | Literal["*"]


def publish(count: int) -> Published:
    """A true count as it may be published: 0, ``"*"`` (1-7) or a multiple of 5."""
    if count < 0:
        raise ValueError(f"a count cannot be negative: {count}")
    if count == 0:
        return 0
    if count <= SMALL:
        return SUPPRESSED
    return ((count + ROUND_TO // 2) // ROUND_TO) * ROUND_TO


def protect_column(counts: Sequence[int], total: int | None = None) -> tuple[list[Published], Published | None]:
    """The published cells of one breakdown column, and its published total (when it has one).

    Primary suppression, then, when exactly one cell is suppressed, the next smallest
    non-zero cell as well (true values decide which is smallest; ties go to the first), or
    the total when no other cell can hide it.
    """
    cells: list[Published] = [publish(c) for c in counts]
    shown_total: Published | None = publish(total) if total is not None else None
    hidden = [i for i, cell in enumerate(cells) if cell == SUPPRESSED]
    if len(hidden) == 1:
        others = [i for i, count in enumerate(counts) if i not in hidden and count > 0]
        if others:
            cells[min(others, key=lambda i: (counts[i], i))] = SUPPRESSED
        elif shown_total is not None:
            shown_total = SUPPRESSED
    return cells, shown_total


def rate(part: Published, whole: Published) -> Published | None:
    """``part`` as a whole percentage of ``whole``, from published figures; ``"*"`` when either
    is suppressed; None when ``whole`` is 0 (nothing to divide by)."""
    if part == SUPPRESSED or whole == SUPPRESSED:
        return SUPPRESSED
    if whole == 0:
        return None
    return round(100 * part / whole)
