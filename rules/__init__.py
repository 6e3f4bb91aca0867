"""rules/: decides whether a matched document deviates from its PO, and how badly.

Pure: it receives the document, its line matches and the effective tolerances, and returns
`Deviation`s; `assign_owner` adds who must act and by when.
"""

from __future__ import annotations

from rules.engine import evaluate
from rules.ownership import add_business_days, assign_owner

__all__ = ["add_business_days", "assign_owner", "evaluate"]
