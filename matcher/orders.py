"""Finding the PO a document refers to when its reference does not name one: rank the supplier's open POs
by how many of the document's items they hold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from matcher.lines import compact_id
from poguard.domain import ParsedDocument, ParsedLine, POLine

__all__ = ["OrderCandidate", "document_item_keys", "rank_orders"]

MIN_OVERLAP = 0.5


@dataclass(frozen=True, slots=True)
class OrderCandidate:
    po_number: str
    score: float
    reason: str


def _line_items(line: ParsedLine, xref: Mapping[str, str]) -> set[str]:
    """The line's item ids, and our items they are known to be."""
    ids = set()
    for value in (line.item, line.supplier_item, *line.other_ids):
        if value:
            ids.add(compact_id(value))
            ids.add(compact_id(xref.get(compact_id(value), "")))
    return ids - {""}


def document_item_keys(doc: ParsedDocument, xref: Mapping[str, str]) -> set[str]:
    """Every item id the document names, and our items they are known to be (compared as `compact_id`)."""
    return set().union(*(_line_items(line, xref) for line in doc.lines))


def rank_orders(doc: ParsedDocument, orders: Mapping[str, list[POLine]], xref: Mapping[str, str]) -> list[OrderCandidate]:
    """The POs holding at least half of the document's items, best first (ties: the older PO number first)."""
    line_items = [_line_items(line, xref) for line in doc.lines]
    if not any(line_items):
        return []
    ranked = []
    for po_number, lines in orders.items():
        held = {compact_id(i) for line in lines for i in (line.item, line.supplier_item) if i}
        found = sum(1 for items in line_items if items & held)
        share = found / len(doc.lines)
        if share >= MIN_OVERLAP:
            reason = f"no usable PO reference; {found} of {len(doc.lines)} item(s) are on PO {po_number}"
            ranked.append(OrderCandidate(po_number, round(share, 4), reason))
    return sorted(ranked, key=lambda c: (-c.score, c.po_number))
