"""Line matching: which PO line each document line refers to, and why.

Evidence, strongest first: the buyer's PO line reference, the buyer's item, the supplier's item, another
identifier equal to either item, and the document's own line number. Pairs are assigned one-to-one,
best score first.
"""

from __future__ import annotations

from dataclasses import dataclass

from poguard.domain import LineMatch, ParsedDocument, ParsedLine, POLine

__all__ = ["match_lines"]


@dataclass(frozen=True, slots=True)
class _Evidence:
    score: float
    reason: str


def _same(left: str | None, right: str | None) -> bool:
    return bool(left) and bool(right) and left.strip().upper() == right.strip().upper()  # type: ignore[union-attr]


def _line_number(value: str | None) -> int | None:
    text = (value or "").strip().lstrip("0")
    return int(text) if text.isdigit() else None


def _evidence(doc_line: ParsedLine, po_line: POLine) -> list[_Evidence]:
    found = []
    if _line_number(doc_line.po_line) == po_line.line:
        found.append(_Evidence(1.0, f"PO line reference {doc_line.po_line} = PO line {po_line.line}"))
    if _same(doc_line.item, po_line.item):
        found.append(_Evidence(0.95, f"buyer item {doc_line.item} = PO line {po_line.line}"))
    if _same(doc_line.supplier_item, po_line.supplier_item):
        found.append(_Evidence(0.9, f"supplier item {doc_line.supplier_item} = PO line {po_line.line}"))
    for other in doc_line.other_ids:
        if _same(other, po_line.item) or _same(other, po_line.supplier_item):
            found.append(_Evidence(0.85, f"item id {other} = PO line {po_line.line}"))
            break
    if _line_number(doc_line.line) == po_line.line:
        found.append(_Evidence(0.7, f"line number {doc_line.line} = PO line {po_line.line}"))
    return found


def _score(evidence: list[_Evidence]) -> _Evidence | None:
    """The strongest evidence, raised a little by every further piece that agrees."""
    if not evidence:
        return None
    ranked = sorted(evidence, key=lambda e: -e.score)
    score = min(1.0, ranked[0].score + 0.02 * (len(ranked) - 1))
    return _Evidence(score, "; ".join(e.reason for e in ranked))


def match_lines(doc: ParsedDocument, po_lines: list[POLine], min_score: float) -> list[LineMatch]:
    """One `LineMatch` per document line, in document order; unmatched lines have `po_line=None`."""
    candidates = []
    for index, doc_line in enumerate(doc.lines):
        for po_line in po_lines:
            best = _score(_evidence(doc_line, po_line))
            if best is not None and best.score >= min_score:
                candidates.append((best.score, index, po_line, best.reason))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2].line))
    assigned: dict[int, LineMatch] = {}
    taken: set[int] = set()
    for score, index, po_line, reason in candidates:
        if index in assigned or po_line.line in taken:
            continue
        assigned[index] = LineMatch(index, po_line, score, reason)
        taken.add(po_line.line)
    return [
        assigned.get(index) or LineMatch(index, None, 0.0, _unmatched_reason(doc.lines[index], po_lines))
        for index in range(len(doc.lines))
    ]


def _unmatched_reason(doc_line: ParsedLine, po_lines: list[POLine]) -> str:
    if not po_lines:
        return "no PO lines to match against"
    ids = [i for i in (doc_line.po_line, doc_line.item, doc_line.supplier_item, *doc_line.other_ids) if i]
    label = ", ".join(ids) if ids else f"line {doc_line.line or '?'}"
    return f"no PO line matches {label}"
