"""Checks of what a document says about one PO line: item and unit, price, quantity, date, certificates.

A `Statement` folds the document lines matched to one PO line (several when a line ships in parts),
with quantity and price converted into the PO's unit. Every check returns deviations; one inside its
tolerance carries the resolution `within_tolerance` (recorded as auto_resolved), one beyond it none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from poguard.config import Config, Tolerances
from poguard.domain import (
    Category,
    ContractPrice,
    Deviation,
    DocumentKind,
    LineStatus,
    ParsedDocument,
    ParsedLine,
    POLine,
    Severity,
    Supplier,
)
from poguard.units import canonical_uom, conversion_factor
from rules.calendar import BusinessCalendar
from rules.history import PoHistory
from rules.severity import grade_days, grade_ratio
from rules.tolerances import beyond_tolerance, date_beyond_tolerance, percent_difference

__all__ = ["LineContext", "Statement", "check_statement", "fold_statement", "plain_number"]

WITHIN_TOLERANCE = "within_tolerance"
EQUIVALENT_UOM = "equivalent_uom"
CONFIRMING = frozenset({DocumentKind.ACKNOWLEDGMENT, DocumentKind.CHANGE_REQUEST})


@dataclass(frozen=True, slots=True)
class Statement:
    """What one document says about one PO line."""

    po: POLine
    lines: tuple[ParsedLine, ...]
    uom: str | None
    factor: Decimal | None
    quantity: Decimal | None
    unit_price: Decimal | None
    delivery_date: date | None
    status: LineStatus


@dataclass(frozen=True, slots=True)
class LineContext:
    """Everything a line check needs besides the statement."""

    doc: ParsedDocument
    config: Config
    tolerances: Tolerances
    calendar: BusinessCalendar
    supplier: Supplier | None
    history: PoHistory
    prices: tuple[ContractPrice, ...]
    today: date


def _compact(value: str | None) -> str:
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


def _conversions(config: Config, item: str) -> dict[tuple[str, str], Decimal]:
    table = {}
    for conversion in config.unit_conversions:
        if conversion.item is None or conversion.item == item:
            key = (canonical_uom(conversion.unit) or "", canonical_uom(conversion.base) or "")
            table[key] = conversion.equals
    return table


def _status(lines: tuple[ParsedLine, ...]) -> LineStatus:
    stated = [line.status for line in lines if line.status is not LineStatus.UNKNOWN]
    if stated and all(status is LineStatus.REJECTED for status in stated):
        return LineStatus.REJECTED
    return next((s for s in stated if s is not LineStatus.REJECTED), LineStatus.UNKNOWN)


def fold_statement(po: POLine, lines: tuple[ParsedLine, ...], config: Config) -> Statement:
    """The document lines about `po`, quantities summed and converted into the PO's unit."""
    uom = next((line.uom for line in lines if line.uom), None)
    factor = conversion_factor(uom, po.uom, _conversions(config, po.item)) if uom else Decimal(1)
    quantities = [line.quantity for line in lines if line.quantity is not None]
    quantity = sum(quantities, Decimal(0)) * factor if quantities and factor is not None else None
    price = next((line.unit_price for line in lines if line.unit_price is not None), None)
    dates = [line.delivery_date for line in lines if line.delivery_date is not None]
    return Statement(
        po=po, lines=lines, uom=uom, factor=factor, quantity=quantity,
        unit_price=price / factor if price is not None and factor else None,
        delivery_date=max(dates) if dates else None, status=_status(lines),
    )


def _graded(context: LineContext, beyond: bool, deviation: Deviation) -> Iterator[Deviation]:
    """`deviation` as it is when beyond tolerance; inside it, low and auto-resolved (or not recorded)."""
    if beyond:
        yield deviation
    elif context.config.rules.auto_resolve.within_tolerance:
        yield replace(deviation, severity=Severity.LOW, resolution=WITHIN_TOLERANCE)


def plain_number(value: Decimal) -> str:
    """A decimal as people write it: no exponent, no trailing zeros (5000, 0.125)."""
    return format(value.normalize(), "f")


def _pct(percent: Decimal | None) -> str:
    return "n/a" if percent is None else f"{percent:+.1f}%"


def _items(st: Statement) -> Iterator[Deviation]:
    named = next((line for line in st.lines if line.item and _compact(line.item) != _compact(st.po.item)), None)
    other = next((line for line in st.lines if line.supplier_item and st.po.supplier_item
                  and _compact(line.supplier_item) != _compact(st.po.supplier_item)), None)
    if named is None and other is None:
        return
    expected = st.po.item if named is not None else st.po.supplier_item or ""
    actual = named.item if named is not None else other.supplier_item  # type: ignore[union-attr]
    if st.status is LineStatus.CHANGED:
        yield Deviation(Category.UNAUTHORIZED_CHANGE, Severity.HIGH, "change.substitution", st.po.po_number, st.po.line,
                        expected=expected, actual=actual or "", message="the supplier substitutes another item")
        return
    yield Deviation(Category.SKU_MISMATCH, Severity.HIGH, "sku.item", st.po.po_number, st.po.line,
                    expected=expected, actual=actual or "", message="the supplier names a different item")


def _unit(st: Statement, context: LineContext) -> Iterator[Deviation]:
    if st.uom is None or st.factor == 1:
        return
    po = st.po
    if st.factor is None:
        yield Deviation(Category.SKU_MISMATCH, Severity.MEDIUM, "sku.uom", po.po_number, po.line, expected=po.uom,
                        actual=st.uom, message=f"unit {canonical_uom(st.uom)} does not convert to the PO's "
                        f"{canonical_uom(po.uom)}; quantity and price not compared")
        return
    resolution = EQUIVALENT_UOM if context.config.rules.auto_resolve.equivalent_uom else None
    yield Deviation(Category.SKU_MISMATCH, Severity.LOW, "sku.uom", po.po_number, po.line, expected=po.uom,
                    actual=f"{st.uom} (1 {st.uom} = {plain_number(st.factor)} {po.uom})",
                    message="another unit, converted for the comparison", resolution=resolution)


def _price_against(context: LineContext, st: Statement, reference: Decimal, rule: str, what: str) -> Iterator[Deviation]:
    assert st.unit_price is not None
    if st.unit_price == reference:
        return
    po = st.po
    percent = percent_difference(reference, st.unit_price)
    at_stake = (st.unit_price - reference) * (st.quantity if st.quantity is not None else po.quantity)
    deviation = Deviation(
        Category.PRICE_VARIANCE, grade_ratio(percent, at_stake), rule, po.po_number, po.line,
        expected=f"{plain_number(reference)} {po.currency}", actual=f"{plain_number(st.unit_price)} {po.currency}",
        message=f"unit price {_pct(percent)} against the {what}; {at_stake:+.2f} {po.currency} at stake",
        value_at_stake=at_stake,
    )
    yield from _graded(context, beyond_tolerance(reference, st.unit_price, context.tolerances.price), deviation)


def _prices(st: Statement, context: LineContext) -> Iterator[Deviation]:
    currency = context.doc.currency
    if st.unit_price is None or (currency and currency.upper() != st.po.currency.upper()):
        return  # a currency change is reported on its own; prices in two currencies do not compare
    yield from _price_against(context, st, st.po.unit_price, "price.po", "PO")
    day = context.doc.issue_date or context.today
    contract = next((p for p in context.prices if p.item == st.po.item and p.applies_on(day)
                     and p.currency.upper() == st.po.currency.upper()), None)
    if contract is not None and contract.unit_price != st.po.unit_price:
        yield from _price_against(context, st, contract.unit_price, "price.contract", "contract price")


def _quantity_deviation(st: Statement, rule: str, expected: Decimal, actual: Decimal, message: str) -> Deviation:
    po = st.po
    percent = percent_difference(expected, actual)
    at_stake = (actual - expected) * po.unit_price
    return Deviation(Category.QUANTITY_MISMATCH, grade_ratio(percent, at_stake), rule, po.po_number, po.line,
                     expected=f"{plain_number(expected)} {po.uom}", actual=f"{plain_number(actual)} {po.uom}",
                     message=f"{message} ({_pct(percent)})", value_at_stake=at_stake)


def _rejected(st: Statement) -> Deviation:
    po = st.po
    return Deviation(Category.QUANTITY_MISMATCH, grade_ratio(Decimal(100), po.quantity * po.unit_price), "line.rejected",
                     po.po_number, po.line, expected=f"{plain_number(po.quantity)} {po.uom}", actual="0 (line not accepted)",
                     message="the supplier does not accept this line", value_at_stake=-po.quantity * po.unit_price)


def _quantities(st: Statement, context: LineContext) -> Iterator[Deviation]:
    kind, po, tolerance = context.doc.kind, st.po, context.tolerances.quantity
    if st.status is LineStatus.REJECTED and kind in CONFIRMING:
        yield _rejected(st)
        return
    if st.quantity is None:
        return
    if kind in CONFIRMING:
        if st.quantity != po.quantity:
            deviation = _quantity_deviation(st, "quantity.confirmed", po.quantity, st.quantity, "confirmed quantity against the PO")
            yield from _graded(context, beyond_tolerance(po.quantity, st.quantity, tolerance), deviation)
    elif kind is DocumentKind.SHIP_NOTICE:
        shipped = context.history.shipped.get(po.line, Decimal(0)) + st.quantity
        if shipped != po.quantity:
            rule = "quantity.short_shipment" if shipped < po.quantity else "quantity.over_shipment"
            deviation = _quantity_deviation(st, rule, po.quantity, shipped, "shipped so far against the PO")
            yield from _graded(context, beyond_tolerance(po.quantity, shipped, tolerance), deviation)
    elif kind is DocumentKind.INVOICE:
        yield from _invoiced(st, context)


def _invoiced(st: Statement, context: LineContext) -> Iterator[Deviation]:
    """Three-way: invoiced against shipped when a ship notice was seen, else against ordered; only over counts."""
    assert st.quantity is not None
    po = st.po
    invoiced = context.history.invoiced.get(po.line, Decimal(0)) + st.quantity
    shipped = context.history.shipped.get(po.line)
    reference, what = (shipped, "shipped") if shipped is not None else (po.quantity, "ordered")
    if invoiced <= reference:
        return
    deviation = _quantity_deviation(st, "quantity.invoiced", reference, invoiced, f"invoiced so far against {what}")
    yield from _graded(context, beyond_tolerance(reference, invoiced, context.tolerances.quantity), deviation)


def _dates(st: Statement, context: LineContext) -> Iterator[Deviation]:
    kind, promised, po = context.doc.kind, st.delivery_date, st.po
    if kind is DocumentKind.INVOICE or promised is None or st.status is LineStatus.REJECTED:
        return
    days = context.calendar.between(po.need_by, promised)
    if days != 0:
        direction = "late" if days > 0 else "early"
        deviation = Deviation(Category.DATE_DEVIATION, grade_days(days), f"date.{direction}", po.po_number, po.line,
                              expected=po.need_by.isoformat(), actual=promised.isoformat(),
                              message=f"delivery {abs(days)} business day(s) {direction}")
        yield from _graded(context, date_beyond_tolerance(days, context.tolerances.date), deviation)
    yield from _lead_time(st, context, promised)


def _lead_time(st: Statement, context: LineContext, promised: date) -> Iterator[Deviation]:
    lead_time = context.supplier.lead_time_days if context.supplier else None
    if not context.config.rules.check_lead_time or lead_time is None or context.doc.kind not in CONFIRMING:
        return
    ordered = st.po.po_date or context.doc.issue_date or context.today
    earliest = context.calendar.add(ordered, lead_time)
    if promised < earliest:
        yield Deviation(Category.DATE_DEVIATION, Severity.MEDIUM, "date.lead_time", st.po.po_number, st.po.line,
                        expected=f"on or after {earliest.isoformat()} ({lead_time} business days after {ordered.isoformat()})",
                        actual=promised.isoformat(), message="the promised date is inside the supplier's lead time")


def _certificates(st: Statement, context: LineContext) -> Iterator[Deviation]:
    if context.doc.kind is not DocumentKind.SHIP_NOTICE or not st.po.required_docs:
        return
    have = context.history.certificates | {c.upper() for c in context.doc.certificates}
    missing = [doc for doc in st.po.required_docs if doc.upper() not in have]
    if missing:
        yield Deviation(Category.MISSING_DOCUMENTATION, Severity.MEDIUM, "docs.missing", st.po.po_number, st.po.line,
                        expected=", ".join(st.po.required_docs), actual=", ".join(sorted(have)) or "none",
                        message=f"{', '.join(missing)} did not arrive with or before the ship notice")


def check_statement(st: Statement, context: LineContext) -> Iterator[Deviation]:
    """Every deviation of one statement from its PO line."""
    yield from _items(st)
    yield from _unit(st, context)
    if st.factor is not None:
        yield from _prices(st, context)
        yield from _quantities(st, context)
    yield from _dates(st, context)
    yield from _certificates(st, context)
