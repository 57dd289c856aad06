"""The local stack's scheduler: AWS schedule expressions read as EventBridge Scheduler reads them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cchcc.local.scheduler import Schedule, ScheduleError, ScheduleRunner, scheduler_event
from cchcc.local.template import ScheduleTrigger, Template
from tests.conftest import TEMPLATE

WEEKDAYS_9_LONDON = Schedule("cron(0 9 ? * MON-FRI *)", "Europe/London")


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (datetime(2025, 3, 12, 8, 0, tzinfo=UTC), datetime(2025, 3, 12, 9, 0, tzinfo=UTC)),  # GMT
        (datetime(2025, 3, 12, 9, 0, tzinfo=UTC), datetime(2025, 3, 13, 9, 0, tzinfo=UTC)),  # strictly after
        (datetime(2025, 3, 14, 10, 0, tzinfo=UTC), datetime(2025, 3, 17, 9, 0, tzinfo=UTC)),  # Friday -> Monday
        (datetime(2025, 6, 2, 6, 0, tzinfo=UTC), datetime(2025, 6, 2, 8, 0, tzinfo=UTC)),  # BST: 09:00 is 08:00 UTC
        (datetime(2025, 3, 28, 12, 0, tzinfo=UTC), datetime(2025, 3, 31, 8, 0, tzinfo=UTC)),  # across the clock change
    ],
)
def test_weekdays_at_nine_london_time(after, expected):
    assert WEEKDAYS_9_LONDON.next_after(after) == expected


def test_aws_day_of_week_numbers_count_from_sunday():
    sunday = Schedule("cron(30 7 ? * 1 *)", "UTC")  # AWS: 1 = Sunday
    assert sunday.next_after(datetime(2025, 3, 12, tzinfo=UTC)) == datetime(2025, 3, 16, 7, 30, tzinfo=UTC)
    assert Schedule("rate(5 minutes)").next_after(datetime(2025, 3, 12, tzinfo=UTC)) == datetime(2025, 3, 12, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    ["cron(0 9 * * *)", "cron(0 9 ? * MON-FRI 2030)", "cron(0 9 ? * 8 *)", "cron(0 9 1W * ? *)", "at(2025-01-01T00:00:00)", "rate(0 days)"],
)
def test_expressions_it_cannot_run_are_refused_when_the_stack_starts(expression):
    with pytest.raises(ScheduleError):
        Schedule(expression, "UTC")


def test_the_template_schedule_is_read_and_its_input_gets_the_scheduled_time():
    [trigger] = Template.load(TEMPLATE).functions()["RemindersFunction"].schedules
    event = scheduler_event(trigger, "cchcc-local-RemindersFunction", datetime(2025, 3, 18, 9, 0, tzinfo=UTC))
    assert event == {"at": "2025-03-18T09:00:00Z"}
    assert Template.load(TEMPLATE).functions()["RemindersFunction"].short_name == "reminders"


def test_a_failed_run_is_retried_as_lambda_retries_an_asynchronous_invocation():
    calls = []

    def invoke(event):
        calls.append(event)
        if len(calls) < 3:
            raise RuntimeError("SES throttled")
        return {"reminders_sent": 1}

    trigger = ScheduleTrigger("Weekdays", "cron(0 9 ? * MON-FRI *)", "Europe/London", '{"at": "<aws.scheduler.scheduled-time>"}')
    runner = ScheduleRunner(trigger, "reminders", invoke, retry_delay=0)
    assert runner.run_once(datetime(2025, 3, 18, 9, 0, tzinfo=UTC)) == {"reminders_sent": 1}
    assert [c["at"] for c in calls] == ["2025-03-18T09:00:00Z"] * 3  # the same scheduled time each try
    with pytest.raises(ZeroDivisionError):  # every try failed: the failure is reported
        ScheduleRunner(trigger, "reminders", lambda e: 1 / 0, retry_delay=0).run_once(datetime(2025, 3, 18, tzinfo=UTC))
