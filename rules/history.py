"""What earlier documents said about a PO: the context for rules that look across documents
(short shipments, invoices against what was shipped, certificates, duplicate invoices)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from poguard.domain import DocumentKind, LineMatch, LineStatus, ParsedDocument

__all__ = ["PoHistory", "line_quantities"]


def line_quantities(doc: ParsedDocument, matches: Iterable[LineMatch]) -> dict[int, Decimal]:
    """Quantity per PO line in `doc`, split lines summed (quantities as the supplier wrote them)."""
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for match in matches:
        quantity = doc.lines[match.line_index].quantity
        if match.po_line is not None and quantity is not None:
            totals[match.po_line.line] += quantity
    return dict(totals)


@dataclass(frozen=True, slots=True)
class PoHistory:
    """The earlier documents of one PO, folded."""

    acknowledged: bool = False
    shipped: dict[int, Decimal] = field(default_factory=dict)
    invoiced: dict[int, Decimal] = field(default_factory=dict)
    certificates: frozenset[str] = frozenset()
    invoice_numbers: frozenset[str] = frozenset()

    def after(self, doc: ParsedDocument, matches: list[LineMatch]) -> PoHistory:
        """The history once `doc` (with its matches) has arrived too."""
        quantities = line_quantities(doc, matches)
        return PoHistory(
            acknowledged=self.acknowledged or (doc.kind is DocumentKind.ACKNOWLEDGMENT and doc.status is not LineStatus.REJECTED),
            shipped=_added(self.shipped, quantities) if doc.kind is DocumentKind.SHIP_NOTICE else self.shipped,
            invoiced=_added(self.invoiced, quantities) if doc.kind is DocumentKind.INVOICE else self.invoiced,
            certificates=self.certificates | {c.upper() for c in doc.certificates},
            invoice_numbers=self.invoice_numbers | ({doc.number} if doc.kind is DocumentKind.INVOICE and doc.number else set()),
        )


def _added(totals: dict[int, Decimal], more: dict[int, Decimal]) -> dict[int, Decimal]:
    merged = dict(totals)
    for line, quantity in more.items():
        merged[line] = merged.get(line, Decimal(0)) + quantity
    return merged
