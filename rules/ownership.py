"""Who must act on an exception, and by when (business days: Monday to Friday)."""

from __future__ import annotations

from datetime import date, timedelta

from poguard.config import Config
from poguard.domain import Category

__all__ = ["add_business_days", "assign_owner"]


def add_business_days(start: date, days: int) -> date:
    """The date `days` business days after `start` (weekends skipped)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def assign_owner(category: Category, buyer: str | None, config: Config, today: date) -> tuple[str, date]:
    """The PO buyer (or the configured default owner) and the SLA due date for `category`."""
    owner = buyer or config.rules.default_owner
    return owner, add_business_days(today, getattr(config.rules.sla_days, category.value))
