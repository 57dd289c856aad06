"""Scheduled functions on the local stack, as EventBridge Scheduler runs them.

For each ``ScheduleV2`` (or ``Schedule``) event of the template, a thread waits for the
schedule's next time in its time zone (``cron(0 9 ? * MON-FRI *)`` in Europe/London), then
invokes the function with the event's input, its Scheduler context attributes
(``<aws.scheduler.scheduled-time>`` and the rest) filled in, and retries a failed
invocation as Lambda retries an asynchronous one (``EventInvokeConfig``). The same
invocation can be asked for at any time, with any clock: ``POST /_local/run/<name>?at=``.

:class:`Schedule` reads AWS's expressions: ``rate(N minutes|hours|days)`` and
``cron(minutes hours day-of-month month day-of-week year)``, whose day-of-week counts
1-7 from Sunday and whose ``?`` means "any". The cron arithmetic (time zones and daylight
saving included) is croniter's; a field it cannot take is refused when the stack starts.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cchcc.local.template import ScheduleTrigger

log = logging.getLogger("cchcc.local")

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.+)\)")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleError(ValueError):
    """A schedule expression the local stack cannot run (the message says which part)."""


def _dow(field: str) -> str:
    """AWS's day-of-week (1 = Sunday ... 7 = Saturday) as cron's (0 = Sunday ... 6 = Saturday)."""
    return re.sub(r"\d+", lambda m: str(int(m.group(0)) - 1) if 1 <= int(m.group(0)) <= 7 else "x", field)


@dataclass(frozen=True)
class Schedule:
    expression: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except Exception as exc:  # noqa: BLE001 (zoneinfo raises several kinds)
            raise ScheduleError(f"unknown time zone {self.timezone!r}") from exc
        self.next_after(datetime(2025, 1, 1, tzinfo=UTC))  # refuse a bad expression now, not at run time

    def _cron(self) -> str | None:
        found = _CRON.fullmatch(self.expression.strip())
        if not found:
            return None
        fields = found.group(1).split()
        if len(fields) != 6:
            raise ScheduleError(f"{self.expression}: a cron expression has 6 fields (minutes to year)")
        minutes, hours, day, month, weekday, year = fields
        if year not in ("*", "?"):
            raise ScheduleError(f"{self.expression}: the local stack runs only schedules for any year")
        day = "*" if day == "?" else day
        weekday = "*" if weekday == "?" else _dow(weekday)
        if "x" in weekday or "W" in day:
            raise ScheduleError(f"{self.expression}: day-of-week must be 1-7 or SUN-SAT; W is not supported")
        return f"{minutes} {hours} {day} {month} {weekday}"

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after ``moment`` (UTC)."""
        rate = _RATE.fullmatch(self.expression.strip())
        if rate:
            step = timedelta(seconds=int(rate.group(1)) * _UNITS[rate.group(2).rstrip("s")])
            if step <= timedelta(0):
                raise ScheduleError(f"{self.expression}: the rate must be at least 1")
            return moment.astimezone(UTC) + step
        cron = self._cron()
        if cron is None:
            raise ScheduleError(f"{self.expression}: expected rate(...) or cron(...)")
        from croniter import croniter

        try:
            it = croniter(cron, moment.astimezone(ZoneInfo(self.timezone)))
            return it.get_next(datetime).astimezone(UTC)
        except (ValueError, KeyError) as exc:
            raise ScheduleError(f"{self.expression}: {exc}") from exc


def scheduled_time(moment: datetime) -> str:
    """``<aws.scheduler.scheduled-time>``: ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduler_event(trigger: ScheduleTrigger, function_name: str, at: datetime, attempt: int = 1) -> Any:
    """The event the function gets: the input with Scheduler's context attributes filled in."""
    if trigger.input is None:
        return {}
    context = {
        "<aws.scheduler.scheduled-time>": scheduled_time(at),
        "<aws.scheduler.schedule-arn>": f"arn:aws:scheduler:eu-west-2:123456789012:schedule/default/{function_name}-{trigger.name}",
        "<aws.scheduler.execution-id>": str(uuid.uuid4()),
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    text = trigger.input
    for name, value in context.items():
        text = text.replace(name, value)
    return json.loads(text)


class ScheduleRunner:
    """One schedule of one function, fired by a thread at each of its times."""

    def __init__(self, trigger: ScheduleTrigger, function_name: str, invoke: Callable[[Any], Any],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), retry_delay: float = 60.0):
        self.trigger = trigger
        self.function_name = function_name
        self.schedule = Schedule(trigger.expression, trigger.timezone)
        self.invoke = invoke
        self.clock = clock
        self.retry_delay = retry_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fired = 0

    def run_once(self, at: datetime) -> Any:
        """Invoke the function for the time ``at``, retrying a failure as Lambda would. Its result."""
        attempts = 1 + max(0, self.trigger.retry_attempts)
        for attempt in range(1, attempts + 1):
            try:
                return self.invoke(scheduler_event(self.trigger, self.function_name, at, attempt))
            except Exception as exc:  # a function error, as Lambda reports it
                if attempt == attempts:
                    raise
                log.warning("%s failed (%s); retry %d of %d in %.0f s", self.function_name,
                            type(exc).__name__, attempt, attempts - 1, self.retry_delay)
                if self._stop.wait(self.retry_delay):
                    raise
        return None  # pragma: no cover

    def _loop(self) -> None:
        while not self._stop.is_set():
            due = self.schedule.next_after(self.clock())
            while not self._stop.is_set():
                left = (due - self.clock()).total_seconds()
                if left <= 0:
                    break
                self._stop.wait(min(left, 30.0))  # wakes now and then: the machine may have slept
            if self._stop.is_set():
                return
            self.fired += 1
            try:
                result = self.run_once(due)
                log.info("schedule %s fired %s: %s", self.trigger.name, self.function_name, json.dumps(result)[:300])
            except Exception as exc:  # noqa: BLE001 (logged; the next time comes round)
                log.warning("schedule %s: %s failed (%s)", self.trigger.name, self.function_name, type(exc).__name__)

    def start(self) -> None:
        if not self.trigger.enabled:
            return
        self._thread = threading.Thread(target=self._loop, name=f"schedule-{self.function_name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
