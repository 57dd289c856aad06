"""Working days in England (bank holidays from the ``holidays`` package) and when a reminder is due."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.workdays import WorkingDays

DAYS = WorkingDays()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 4, 17), True),  # Maundy Thursday
        (date(2025, 4, 18), False),  # Good Friday
        (date(2025, 4, 21), False),  # Easter Monday
        (date(2025, 4, 22), True),
        (date(2025, 12, 24), True),
        (date(2025, 12, 25), False),
        (date(2025, 12, 26), False),
        (date(2026, 12, 28), False),  # Boxing Day (substitute: the 26th is a Saturday)
        (date(2027, 12, 27), False),  # Christmas Day (substitute)
        (date(2025, 8, 25), False),  # summer bank holiday (England's, not Scotland's)
        (date(2025, 8, 4), True),  # Scotland's summer bank holiday is a working day in England
        (date(2025, 3, 15), False),  # a Saturday
    ],
)
def test_bank_holidays_in_england_are_not_working_days(day, working):
    assert DAYS.is_working_day(day) is working


@pytest.mark.parametrize(
    ("asked", "n", "due"),
    [
        # Asked on a Monday: five whole working days are Tuesday to the next Monday.
        (date(2025, 3, 10), 5, date(2025, 3, 18)),
        # Easter 2025: Good Friday and Easter Monday do not count.
        (date(2025, 4, 17), 5, date(2025, 4, 29)),
        # Christmas 2025: 25, 26 December and 1 January do not count.
        (date(2025, 12, 23), 5, date(2026, 1, 5)),
        (date(2025, 12, 23), 10, date(2026, 1, 12)),
        # Christmas 2026 falls on a Friday: the Monday after is Boxing Day's substitute.
        (date(2026, 12, 22), 5, date(2027, 1, 4)),
        # Asked on a Saturday: the count starts on Monday.
        (date(2025, 3, 15), 5, date(2025, 3, 24)),
    ],
)
def test_a_reminder_is_due_on_the_first_working_day_after_n_whole_working_days(asked, n, due):
    assert DAYS.between(asked, due) == n
    day_before = max(d for d in (date.fromordinal(due.toordinal() - k) for k in range(1, 10)) if DAYS.is_working_day(d))
    assert DAYS.between(asked, day_before) == n - 1
    # The store's query: asked before the instant asked_before(today) <=> due.
    asked_at = datetime(asked.year, asked.month, asked.day, 15, 0, tzinfo=UTC)
    assert asked_at < DAYS.asked_before(due, n)
    assert not asked_at < DAYS.asked_before(day_before, n)


def test_the_cut_off_is_midnight_london_time_in_summer():
    cutoff = DAYS.asked_before(date(2025, 4, 29), 5)
    assert cutoff == datetime(2025, 4, 21, 23, 0, tzinfo=UTC)  # 00:00 BST on Tuesday 22 April
    # 00:30 on the 22nd in London is the 22nd: not yet five whole working days by the 29th.
    assert not datetime(2025, 4, 21, 23, 30, tzinfo=UTC) < cutoff
    assert DAYS.local_date(datetime(2025, 4, 21, 23, 30, tzinfo=UTC)) == date(2025, 4, 22)


def test_holiday_names_come_from_the_library():
    assert "Christmas" in DAYS.holiday_name(date(2025, 12, 25))
    assert DAYS.holiday_name(date(2025, 12, 24)) is None
