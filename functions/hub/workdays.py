"""Working days in England: Monday to Friday, less England's bank holidays.

Bank holidays come from the maintained ``holidays`` package (``GB``, subdivision ``ENG``:
Good Friday, Easter Monday, the May and August bank holidays, Christmas and Boxing Day with
their substitute days...), never from a list kept by hand. Dates are local to
Europe/London; a moment becomes a date there first.

"No update after N working days" counts *whole* working days after the day the spoke was
asked: asked on a Monday with N = 5, the five are Tuesday to the next Monday, so the
reminder goes on the Tuesday after. :meth:`WorkingDays.asked_before` turns that into one
instant, so a store can find every overdue assignment with one range query.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class WorkingDays:
    def __init__(self, country: str = "GB", subdivision: str = "ENG"):
        self.country = country
        self.subdivision = subdivision

    @cached_property
    def _holidays(self):
        import holidays  # only the reminders function pays for importing it

        return holidays.country_holidays(self.country, subdiv=self.subdivision)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def holiday_name(self, day: date) -> str | None:
        return self._holidays.get(day)

    @staticmethod
    def local_date(moment: datetime) -> date:
        return moment.astimezone(LONDON).date()

    def between(self, start: date, end: date) -> int:
        """Whole working days strictly after ``start`` and strictly before ``end``."""
        count, day = 0, start + timedelta(days=1)
        while day < end:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def nth_before(self, day: date, n: int) -> date:
        """The ``n``-th working day before ``day`` (``day`` itself not counted)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        found = 0
        while found < n:
            day -= timedelta(days=1)
            found += self.is_working_day(day)
        return day

    def asked_before(self, today: date, n: int) -> datetime:
        """The instant (UTC) before which a spoke must have been asked to have had ``n`` whole
        working days by ``today``: the start (London time) of the ``n``-th working day before it."""
        day = self.nth_before(today, n)
        return datetime.combine(day, time(0, 0), LONDON).astimezone(UTC)
