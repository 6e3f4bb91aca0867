"""Business days: Monday to Friday, without the public holidays of a country (the `holidays` library)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from poguard.errors import ConfigError

__all__ = ["BusinessCalendar", "calendar_for"]


class BusinessCalendar:
    """Counts and adds business days for one country (None: weekends only)."""

    def __init__(self, country: str | None):
        self.country = country
        try:
            self._holidays = holidays.country_holidays(country) if country else {}
        except NotImplementedError:
            raise ConfigError(f"no holiday calendar for country {country!r}", hint="use an ISO 3166 alpha-2 code") from None

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def add(self, start: date, days: int) -> date:
        """The business day `days` business days after `start` (before it, for negative `days`)."""
        step = timedelta(days=1 if days >= 0 else -1)
        current, remaining = start, abs(days)
        while remaining:
            current += step
            if self.is_business_day(current):
                remaining -= 1
        return current

    def between(self, start: date, end: date) -> int:
        """Business days from `start` to `end`: positive when `end` is later, counting `end` but not `start`."""
        if end == start:
            return 0
        sign, low, high = (1, start, end) if end > start else (-1, end, start)
        count = sum(1 for offset in range(1, (high - low).days + 1) if self.is_business_day(low + timedelta(days=offset)))
        return sign * count


@lru_cache(maxsize=64)
def calendar_for(country: str | None) -> BusinessCalendar:
    """One shared calendar per country."""
    return BusinessCalendar(country.upper() if country else None)
