"""``cchcc report``'s period and its errors: bad dates stop it with a clear message and exit 1,
before anything is read; a future end is brought back to today and said."""

from __future__ import annotations

from datetime import date

import pytest

from cchcc.cli import main
from cchcc.ops.report import Period, ReportError, period

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-06-01", "2026-05-31", "--from 2026-06-01 is after --to 2026-05-31"),
        ("2027-01-01", None, "--from 2027-01-01 is in the future"),
        ("2026-13-01", None, "--from '2026-13-01' is not a date: write it as YYYY-MM-DD"),
        (None, "yesterday", "--to 'yesterday' is not a date"),
        (None, "2020-01-01", "--to 2020-01-01 is before the oldest day the table can hold (2024-12-02"),
    ],
)
def test_bad_periods_say_what_is_wrong(start, end, message):
    with pytest.raises(ReportError, match=message.replace("(", r"\(")):
        period(start, end, today=TODAY, retention_days=730)


def test_a_future_end_is_today_and_the_report_says_so():
    window = period("2026-11-01", "2030-01-01", today=TODAY, retention_days=730)
    assert (window.start, window.end) == (date(2026, 11, 1), TODAY)
    assert window.notes == ("--to 2030-01-01 is in the future: the report runs to today, 2026-12-02.",)


def test_without_dates_it_covers_everything_the_table_can_hold():
    window = period(None, None, today=TODAY, retention_days=730)
    assert (window.start, window.end) == (date(2024, 12, 2), TODAY)
    assert window.months[0] == "2024-12" and window.months[-1] == "2026-12" and len(window.months) == 25


def test_months_cross_the_year():
    assert Period(date(2025, 11, 30), date(2026, 2, 1)).months == ["2025-11", "2025-12", "2026-01", "2026-02"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-06-01", "--to", "2026-05-01"], "is after --to"),
        (["--from", "2999-01-01"], "is in the future"),
        (["--to", "31/12/2026"], "is not a date"),
    ],
)
def test_cli_exits_1_with_the_reason_and_writes_nothing(args, message, capsys, tmp_path):
    assert main(["report", *args, "--out", str(tmp_path / "out"), "--port", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cchcc report: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
