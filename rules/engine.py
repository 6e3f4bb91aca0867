"""The rules: compare each matched document line with its PO line and report what deviates."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from poguard.config import Tolerances
from poguard.domain import (
    Category,
    Deviation,
    DocumentKind,
    LineMatch,
    LineStatus,
    ParsedDocument,
    ParsedLine,
    POLine,
    Severity,
)
from poguard.units import canonical_uom, same_uom
from rules.severity import grade_days, grade_ratio
from rules.tolerances import beyond_tolerance, date_beyond_tolerance, percent_difference

__all__ = ["evaluate"]


def _compact(value: str | None) -> str:
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


def _pct_text(percent: Decimal | None) -> str:
    return "n/a" if percent is None else f"{percent:+.1f}%"


def _price(doc: ParsedDocument, line: ParsedLine, po: POLine, tolerances: Tolerances) -> Iterator[Deviation]:
    if doc.currency and doc.currency.upper() != po.currency.upper():
        return  # a currency change is reported on its own; prices in two currencies do not compare
    if line.unit_price is None or not beyond_tolerance(po.unit_price, line.unit_price, tolerances.price):
        return
    percent = percent_difference(po.unit_price, line.unit_price)
    quantity = line.quantity if line.quantity is not None else po.quantity
    at_stake = (line.unit_price - po.unit_price) * quantity
    yield Deviation(
        Category.PRICE_VARIANCE, grade_ratio(percent, at_stake), "price.tolerance", po.po_number, po.line,
        expected=f"{po.unit_price} {po.currency}", actual=f"{line.unit_price} {doc.currency or po.currency}",
        message=f"unit price {_pct_text(percent)} against the PO; {at_stake:+.2f} {po.currency} at stake",
        value_at_stake=at_stake,
    )


def _quantity(line: ParsedLine, po: POLine, tolerances: Tolerances) -> Iterator[Deviation]:
    if line.status is LineStatus.REJECTED:
        yield Deviation(
            Category.QUANTITY_MISMATCH, grade_ratio(Decimal("100"), po.quantity * po.unit_price), "line.rejected",
            po.po_number, po.line, expected=f"{po.quantity} {po.uom}", actual="0 (line not accepted)",
            message="the supplier does not accept this line", value_at_stake=-po.quantity * po.unit_price,
        )
        return
    if line.quantity is None or not beyond_tolerance(po.quantity, line.quantity, tolerances.quantity):
        return
    percent = percent_difference(po.quantity, line.quantity)
    at_stake = (line.quantity - po.quantity) * po.unit_price
    yield Deviation(
        Category.QUANTITY_MISMATCH, grade_ratio(percent, at_stake), "quantity.tolerance", po.po_number, po.line,
        expected=f"{po.quantity} {po.uom}", actual=f"{line.quantity} {line.uom or po.uom}",
        message=f"quantity {_pct_text(percent)} against the PO", value_at_stake=at_stake,
    )


def _date(doc: ParsedDocument, line: ParsedLine, po: POLine, tolerances: Tolerances) -> Iterator[Deviation]:
    if doc.kind is DocumentKind.INVOICE or line.delivery_date is None:
        return
    if not date_beyond_tolerance(po.need_by, line.delivery_date, tolerances.date):
        return
    days = (line.delivery_date - po.need_by).days
    direction = "late" if days > 0 else "early"
    yield Deviation(
        Category.DATE_DEVIATION, grade_days(days), f"date.{direction}", po.po_number, po.line,
        expected=po.need_by.isoformat(), actual=line.delivery_date.isoformat(),
        message=f"delivery {abs(days)} day(s) {direction}",
    )


def _sku(line: ParsedLine, po: POLine) -> Iterator[Deviation]:
    if line.item and _compact(line.item) != _compact(po.item):
        yield Deviation(
            Category.SKU_MISMATCH, Severity.HIGH, "sku.item", po.po_number, po.line,
            expected=po.item, actual=line.item, message="the supplier names a different buyer item",
        )
    elif line.supplier_item and po.supplier_item and _compact(line.supplier_item) != _compact(po.supplier_item):
        yield Deviation(
            Category.SKU_MISMATCH, Severity.HIGH, "sku.supplier_item", po.po_number, po.line,
            expected=po.supplier_item, actual=line.supplier_item, message="the supplier names a different item",
        )


def _uom_differs(line: ParsedLine, po: POLine) -> Deviation | None:
    if line.uom is None or same_uom(line.uom, po.uom):
        return None
    return Deviation(
        Category.SKU_MISMATCH, Severity.MEDIUM, "sku.uom", po.po_number, po.line,
        expected=po.uom, actual=line.uom,
        message=f"unit {canonical_uom(line.uom)} is not the PO's {canonical_uom(po.uom)}; quantity and price not compared",
    )


def _line_deviations(doc: ParsedDocument, line: ParsedLine, po: POLine, tolerances: Tolerances) -> Iterator[Deviation]:
    yield from _sku(line, po)
    uom = _uom_differs(line, po)
    if uom is not None:
        yield uom
    else:
        yield from _price(doc, line, po, tolerances)
        yield from _quantity(line, po, tolerances)
    if line.status is not LineStatus.REJECTED:
        yield from _date(doc, line, po, tolerances)


def _unmatched_line(doc: ParsedDocument, match: LineMatch) -> Deviation:
    line = doc.lines[match.line_index]
    return Deviation(
        Category.UNMATCHED, Severity.HIGH, "match.line", doc.po_number, None,
        expected="a line of the PO", actual=f"document line {line.line or match.line_index + 1}",
        message=match.reason,
    )


def _unmatched_document(doc: ParsedDocument) -> Deviation:
    reference = doc.po_number or "no PO reference"
    return Deviation(
        Category.UNMATCHED, Severity.HIGH, "match.po", doc.po_number, None,
        expected="an open PO", actual=reference,
        message=f"{doc.kind.value} {doc.number or ''} refers to {reference}, which matches no open PO".replace("  ", " "),
    )


def _currency(doc: ParsedDocument, po_lines: list[POLine]) -> Iterator[Deviation]:
    currency = po_lines[0].currency
    if doc.currency and doc.currency.upper() != currency.upper():
        yield Deviation(
            Category.UNAUTHORIZED_CHANGE, Severity.HIGH, "change.currency", po_lines[0].po_number, None,
            expected=currency, actual=doc.currency, message="the supplier changed the currency",
        )


def evaluate(
    doc: ParsedDocument, po_lines: list[POLine], matches: list[LineMatch], tolerances: Tolerances
) -> list[Deviation]:
    """Every deviation of `doc` from the PO lines it was matched to; an unknown PO is one `unmatched`."""
    if not po_lines:
        return [_unmatched_document(doc)]
    deviations = list(_currency(doc, po_lines))
    for match in matches:
        if match.po_line is None:
            deviations.append(_unmatched_line(doc, match))
        else:
            deviations.extend(_line_deviations(doc, doc.lines[match.line_index], match.po_line, tolerances))
    return deviations
