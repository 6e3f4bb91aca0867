"""Line matching: which PO line each document line refers to, and why.

Evidence, strongest first: the buyer's PO line reference, the buyer's item, the supplier's item (also
through a cross-reference learned from earlier confirmed matches), another identifier equal to either
item, the description (rapidfuzz), and the document's own line number; equal quantity or price break
ties. Document lines and PO lines are paired by an optimal one-to-one assignment (scipy's
linear_sum_assignment). On a ship notice or an invoice, further lines naming the same item are a *split*
of that PO line (one PO line shipped in several packages or invoiced in parts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, utils
from scipy.optimize import linear_sum_assignment

from poguard.domain import DocumentKind, LineMatch, ParsedDocument, ParsedLine, POLine

__all__ = ["compact_id", "match_lines"]

DESCRIPTION_FLOOR = 60.0
SPLIT_KINDS = frozenset({DocumentKind.SHIP_NOTICE, DocumentKind.INVOICE})
ITEM_EVIDENCE = 0.85
AGREEMENT_BONUS = 0.02
TIE_BREAK = 0.005


@dataclass(frozen=True, slots=True)
class _Evidence:
    score: float
    reason: str


def compact_id(value: str | None) -> str:
    """An item id compared without case, spaces or punctuation: `GLF-HX 840` = `glfhx840`."""
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


def _same(left: str | None, right: str | None) -> bool:
    return bool(compact_id(left)) and compact_id(left) == compact_id(right)


def _line_number(value: str | None) -> int | None:
    text = (value or "").strip().lstrip("0")
    return int(text) if text.isdigit() else None


def _id_evidence(doc_line: ParsedLine, po_line: POLine, xref: Mapping[str, str]) -> list[_Evidence]:
    found = []
    if _line_number(doc_line.po_line) == po_line.line:
        found.append(_Evidence(1.0, f"PO line reference {doc_line.po_line}"))
    if _same(doc_line.item, po_line.item):
        found.append(_Evidence(0.95, f"buyer item {doc_line.item}"))
    if _same(doc_line.supplier_item, po_line.supplier_item):
        found.append(_Evidence(0.9, f"supplier item {doc_line.supplier_item}"))
    elif doc_line.supplier_item and _same(xref.get(compact_id(doc_line.supplier_item)), po_line.item):
        found.append(_Evidence(0.9, f"supplier item {doc_line.supplier_item} is our {po_line.item} (learned)"))
    other = next((o for o in doc_line.other_ids if _same(o, po_line.item) or _same(o, po_line.supplier_item)), None)
    if other is not None:
        found.append(_Evidence(ITEM_EVIDENCE, f"item id {other}"))
    return found


def _description_evidence(doc_line: ParsedLine, po_line: POLine) -> _Evidence | None:
    if not doc_line.description:
        return None
    similarity = fuzz.token_set_ratio(doc_line.description, po_line.description, processor=utils.default_process)
    if similarity < DESCRIPTION_FLOOR:
        return None
    return _Evidence(0.5 + 0.4 * (similarity - DESCRIPTION_FLOOR) / (100 - DESCRIPTION_FLOOR),
                     f"description {similarity:.0f}% similar")


def _evidence(doc_line: ParsedLine, po_line: POLine, xref: Mapping[str, str], named_lines: set[int]) -> list[_Evidence]:
    """Everything linking the pair; a line whose ids name other PO lines is not linked here by number or words."""
    found = _id_evidence(doc_line, po_line, xref)
    if named_lines and po_line.line not in named_lines:
        return found
    described = _description_evidence(doc_line, po_line)
    if described is not None:
        found.append(described)
    if _line_number(doc_line.line) == po_line.line:
        found.append(_Evidence(0.7, f"line number {doc_line.line}"))
    return found


def _tie_break(doc_line: ParsedLine, po_line: POLine) -> float:
    bonus = TIE_BREAK if doc_line.quantity is not None and doc_line.quantity == po_line.quantity else 0.0
    return bonus + (TIE_BREAK if doc_line.unit_price is not None and doc_line.unit_price == po_line.unit_price else 0.0)


def _score(doc_line: ParsedLine, po_line: POLine, xref: Mapping[str, str], named_lines: set[int]) -> _Evidence | None:
    """The strongest evidence, raised a little by every further piece that agrees; None without any."""
    evidence = _evidence(doc_line, po_line, xref, named_lines)
    if not evidence:
        return None
    ranked = sorted(evidence, key=lambda e: -e.score)
    score = min(1.0, ranked[0].score + AGREEMENT_BONUS * (len(ranked) - 1) + _tie_break(doc_line, po_line))
    reason = "; ".join(e.reason for e in ranked) + f" = PO line {po_line.line}"
    return _Evidence(round(score, 4), reason)


def _scores(doc_line: ParsedLine, po_lines: list[POLine], xref: Mapping[str, str]) -> list[_Evidence | None]:
    """The line's score against every PO line; the PO lines its ids name (PO line reference, items) are noted first."""
    named = {po.line for po in po_lines if _id_evidence(doc_line, po, xref)}
    return [_score(doc_line, po_line, xref, named) for po_line in po_lines]


def _unmatched_reason(doc_line: ParsedLine, po_lines: list[POLine]) -> str:
    if not po_lines:
        return "no PO lines to match against"
    ids = [i for i in (doc_line.po_line, doc_line.item, doc_line.supplier_item, *doc_line.other_ids) if i]
    label = ", ".join(ids) if ids else (doc_line.description or f"line {doc_line.line or '?'}")
    return f"no PO line matches {label}"


def _assign(scores: list[list[_Evidence | None]], min_score: float) -> dict[int, int]:
    """The one-to-one pairing of document lines (rows) and PO lines (columns) with the highest total score."""
    values = np.array([[e.score if e is not None and e.score >= min_score else 0.0 for e in row] for row in scores])
    rows, columns = linear_sum_assignment(values, maximize=True)
    return {int(r): int(c) for r, c in zip(rows, columns, strict=True) if values[r, c] > 0}


def _splits(scores: list[list[_Evidence | None]], assigned: dict[int, int]) -> dict[int, int]:
    """Unassigned lines whose best candidate is an assigned PO line named by item: parts of a split line."""
    taken = set(assigned.values())
    split = {}
    for row, evidence in enumerate(scores):
        if row in assigned:
            continue
        best = max(range(len(evidence)), key=lambda c: evidence[c].score if evidence[c] else 0.0, default=None)
        if best is not None and best in taken and evidence[best] is not None and evidence[best].score >= ITEM_EVIDENCE:
            split[row] = best
    return split


def match_lines(doc: ParsedDocument, po_lines: list[POLine], min_score: float,
                xref: Mapping[str, str] | None = None) -> list[LineMatch]:
    """One `LineMatch` per document line, in document order; unmatched lines have `po_line=None`.

    `xref` maps a supplier item (see `compact_id`) to our item, learned from earlier confirmed matches.
    """
    known = xref or {}
    scores = [_scores(line, po_lines, known) for line in doc.lines]
    assigned = _assign(scores, min_score) if doc.lines and po_lines else {}
    split = _splits(scores, assigned) if doc.kind in SPLIT_KINDS else {}
    matches = []
    for row, line in enumerate(doc.lines):
        column = assigned.get(row, split.get(row))
        if column is None:
            matches.append(LineMatch(row, None, 0.0, _unmatched_reason(line, po_lines)))
            continue
        evidence = scores[row][column]
        assert evidence is not None
        reason = evidence.reason + (" (part of a split line)" if row in split else "")
        matches.append(LineMatch(row, po_lines[column], evidence.score, reason))
    return matches
