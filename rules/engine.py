"""The rules: compare one document with its PO and say what deviates, how badly, and what resolves itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from poguard.config import Config
from poguard.domain import (
    Category,
    ContractPrice,
    Deviation,
    DocumentKind,
    LineMatch,
    LineStatus,
    ParsedDocument,
    POLine,
    Severity,
    Supplier,
)
from poguard.terms import parse_terms
from rules.calendar import calendar_for
from rules.history import PoHistory
from rules.lines import LineContext, check_statement, fold_statement, plain_number

__all__ = ["RuleInput", "evaluate"]


@dataclass(frozen=True, slots=True)
class RuleInput:
    """One document with everything the rules may look at; nothing is loaded by the rules themselves."""

    doc: ParsedDocument
    po_lines: list[POLine]
    matches: list[LineMatch]
    supplier: Supplier | None = None
    history: PoHistory = PoHistory()
    prices: tuple[ContractPrice, ...] = ()
    today: date = date(1970, 1, 1)


def _unmatched_document(doc: ParsedDocument) -> Deviation:
    reference = doc.po_number or "no PO reference"
    label = " ".join(part for part in (doc.kind.value, doc.number) if part)
    return Deviation(Category.UNMATCHED, Severity.HIGH, "match.po", doc.po_number, None, expected="an open PO",
                     actual=reference, message=f"{label} refers to {reference}, which matches no open PO")


def _unmatched_lines(inp: RuleInput) -> Iterator[Deviation]:
    for match in inp.matches:
        if match.po_line is not None:
            continue
        line = inp.doc.lines[match.line_index]
        label = f"document line {line.line or match.line_index + 1}"
        if line.status is LineStatus.ADDED:
            yield Deviation(Category.UNAUTHORIZED_CHANGE, Severity.HIGH, "change.added_line", inp.doc.po_number, None,
                            expected="only the PO's lines", actual=label, message=f"the supplier adds a line: {match.reason}")
        else:
            yield Deviation(Category.UNMATCHED, Severity.HIGH, "match.line", inp.doc.po_number, None,
                            expected="a line of the PO", actual=label, message=match.reason)


def _currency(inp: RuleInput) -> Iterator[Deviation]:
    currency = inp.po_lines[0].currency
    if inp.doc.currency and inp.doc.currency.upper() != currency.upper():
        yield Deviation(Category.UNAUTHORIZED_CHANGE, Severity.HIGH, "change.currency", inp.po_lines[0].po_number, None,
                        expected=currency, actual=inp.doc.currency, message="the supplier changed the currency")


def _payment_terms(inp: RuleInput) -> Iterator[Deviation]:
    """Terms the PO locks, compared by meaning (`2/10 net 30` = `2% 10 days, net 30 days`)."""
    ordered, stated = parse_terms(inp.po_lines[0].payment_terms), parse_terms(inp.doc.payment_terms)
    if ordered is not None and stated is not None and ordered != stated:
        yield Deviation(Category.UNAUTHORIZED_CHANGE, Severity.HIGH, "change.payment_terms", inp.po_lines[0].po_number,
                        None, expected=str(ordered), actual=str(stated), message="the supplier changed the payment terms")


def _duplicate_invoice(inp: RuleInput) -> Iterator[Deviation]:
    doc = inp.doc
    if doc.kind is DocumentKind.INVOICE and doc.number and doc.number in inp.history.invoice_numbers:
        yield Deviation(Category.QUANTITY_MISMATCH, Severity.CRITICAL, "invoice.duplicate", inp.po_lines[0].po_number, None,
                        expected="one invoice per number", actual=f"invoice {doc.number} again",
                        message=f"invoice {doc.number} was received before: a duplicate bills the same goods twice",
                        value_at_stake=doc.total)


def _order_rejected(inp: RuleInput) -> Iterator[Deviation]:
    """A whole order rejected without lines: every PO line is not accepted."""
    if inp.doc.status is not LineStatus.REJECTED or inp.doc.lines:
        return
    for po in inp.po_lines:
        yield Deviation(Category.QUANTITY_MISMATCH, Severity.HIGH, "order.rejected", po.po_number, po.line,
                        expected=f"{plain_number(po.quantity)} {po.uom}", actual="0 (order not accepted)",
                        message="the supplier does not accept the order", value_at_stake=-po.quantity * po.unit_price)


def _statements(inp: RuleInput, config: Config) -> Iterator[Deviation]:
    grouped: dict[int, list[int]] = {}
    for match in inp.matches:
        if match.po_line is not None:
            grouped.setdefault(match.po_line.line, []).append(match.line_index)
    by_line = {po.line: po for po in inp.po_lines}
    calendar = calendar_for(inp.supplier.country if inp.supplier else None)
    for line_number, indexes in grouped.items():
        po = by_line[line_number]
        statement = fold_statement(po, tuple(inp.doc.lines[i] for i in indexes), config)
        context = LineContext(
            doc=inp.doc, config=config, tolerances=config.tolerances_for(po.supplier_id, po.item, po.item_group),
            calendar=calendar, supplier=inp.supplier, history=inp.history, prices=inp.prices, today=inp.today,
        )
        yield from check_statement(statement, context)


def evaluate(inp: RuleInput, config: Config) -> list[Deviation]:
    """Every deviation of the document from the PO lines it was matched to; an unknown PO is one `unmatched`."""
    if not inp.po_lines:
        return [_unmatched_document(inp.doc)]
    return [
        *_currency(inp), *_payment_terms(inp), *_duplicate_invoice(inp), *_order_rejected(inp), *_statements(inp, config),
        *_unmatched_lines(inp),
    ]
