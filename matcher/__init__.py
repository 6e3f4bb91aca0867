"""matcher/: finds the PO and the PO line each document line refers to, with a score and a reason.

Pure: it receives a parsed document and candidate PO lines and returns `LineMatch`es; it never loads them.
"""

from __future__ import annotations

from matcher.lines import compact_id, match_lines
from matcher.orders import OrderCandidate, document_item_keys, rank_orders
from matcher.references import normalise_po_reference

__all__ = ["OrderCandidate", "compact_id", "document_item_keys", "match_lines", "normalise_po_reference", "rank_orders"]
