"""rules/: decides whether a matched document deviates from its PO, and how badly.

Pure: it receives a `RuleInput` (the document, its PO lines, matches, supplier, history of the PO,
contract prices) and the configuration, and returns `Deviation`s; `assign_owner` adds who must act, by
when, and whom it escalates to.
"""

from __future__ import annotations

from rules.calendar import BusinessCalendar, calendar_for
from rules.engine import RuleInput, evaluate
from rules.history import PoHistory
from rules.ownership import Assignment, assign_owner

__all__ = ["Assignment", "BusinessCalendar", "PoHistory", "RuleInput", "assign_owner", "calendar_for", "evaluate"]
