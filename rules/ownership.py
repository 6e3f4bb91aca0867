"""Who must act on an exception, by when, and whom it escalates to (business days of the company calendar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from poguard.config import Config
from poguard.domain import Category
from rules.calendar import calendar_for

__all__ = ["Assignment", "assign_owner"]


@dataclass(frozen=True, slots=True)
class Assignment:
    owner: str
    due: date
    escalate_to: str


def assign_owner(category: Category, buyer: str | None, config: Config, today: date) -> Assignment:
    """The owner of `category` (the PO's buyer for the buyer role), the SLA due date, and the escalation person."""
    ownership = getattr(config.ownership, category.value)
    calendar = calendar_for(config.calendar.country)
    return Assignment(
        owner=config.person(ownership.owner, buyer),
        due=calendar.add(today, ownership.sla_days),
        escalate_to=config.person(ownership.escalate_to, buyer),
    )
