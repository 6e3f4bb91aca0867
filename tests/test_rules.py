"""The rules, category by category, at their boundaries; dates in business days across a holiday."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from poguard.config import Config, parse_config
from poguard.domain import (
    Category,
    ContractPrice,
    DocumentKind,
    LineMatch,
    LineStatus,
    ParsedDocument,
    ParsedLine,
    POLine,
    Supplier,
)
from rules import PoHistory, RuleInput, assign_owner, calendar_for, evaluate

D = Decimal
TODAY = date(2026, 11, 20)
# Thanksgiving 2026 is Thursday 26 November: a holiday for a US supplier.
PO = POLine(
    po_number="4500000001", line=1, supplier_id="GLF", item="FAS-M8", supplier_item="GLF-8",
    description="Hex bolt M8", quantity=D("1000"), uom="EA", unit_price=D("1.00"), currency="USD",
    need_by=date(2026, 11, 25), buyer="anna@example.com", required_docs=("CoC",),
)
US_SUPPLIER = Supplier("GLF", "Great Lakes", lead_time_days=None, country="US")


def _line(**changes: object) -> ParsedLine:
    base = ParsedLine(line="1", item="FAS-M8", quantity=D("1000"), uom="EA", unit_price=D("1.00"),
                      delivery_date=PO.need_by, status=LineStatus.ACCEPTED)
    return replace(base, **changes)


def _findings(*lines: ParsedLine, kind: DocumentKind = DocumentKind.ACKNOWLEDGMENT, config: Config | None = None,
              history: PoHistory = PoHistory(), supplier: Supplier = US_SUPPLIER, prices: tuple = (),
              currency: str = "USD", number: str | None = None, po: POLine = PO,
              certificates: tuple[str, ...] = ()) -> list[tuple[str, str, str | None]]:
    """(category, rule, resolution) of every deviation of a document whose lines all match PO line 1."""
    doc = ParsedDocument(kind=kind, parser="test", po_number=po.po_number, currency=currency, number=number,
                         lines=list(lines), certificates=certificates, issue_date=TODAY)
    matches = [LineMatch(i, po, 1.0, "test") for i in range(len(lines))]
    inp = RuleInput(doc, [po], matches, supplier, history, prices, TODAY)
    return [(d.category.value, d.rule, d.resolution) for d in evaluate(inp, config or Config())]


def _open(findings: list[tuple[str, str, str | None]]) -> list[str]:
    return [category for category, _, resolution in findings if resolution is None]


@pytest.mark.parametrize(
    ("case", "price", "expected"),
    [
        ("equal price: nothing", "1.00", []),
        ("+1 % exactly at the limit: auto-resolved", "1.01", [("price_variance", "price.po", "within_tolerance")]),
        ("just over +1 %: open", "1.0101", [("price_variance", "price.po", None)]),
        ("-5 % exactly at the limit: auto-resolved", "0.95", [("price_variance", "price.po", "within_tolerance")]),
        ("just under -5 %: open", "0.9499", [("price_variance", "price.po", None)]),
    ],
)
def test_price_variance_boundaries(case: str, price: str, expected: list) -> None:
    """GIVEN the default price tolerance (+1 % / -5 %) WHEN the supplier confirms `price` THEN inside is auto-resolved and beyond is open."""
    assert _findings(_line(unit_price=D(price))) == expected, case


def test_price_against_a_contract_price_is_checked_too() -> None:
    """GIVEN a contract price of 0.90 below the PO's 1.00 WHEN the supplier confirms the PO price THEN the contract check flags it."""
    contract = ContractPrice("GLF", "FAS-M8", D("0.90"), "USD", date(2026, 1, 1))
    assert _findings(_line(), prices=(contract,)) == [("price_variance", "price.contract", None)]


def test_expired_contract_price_is_ignored() -> None:
    """GIVEN a contract price valid until October WHEN a November confirmation arrives THEN only the PO price counts."""
    contract = ContractPrice("GLF", "FAS-M8", D("0.90"), "USD", date(2026, 1, 1), date(2026, 10, 31))
    assert _findings(_line(), prices=(contract,)) == []


@pytest.mark.parametrize(
    ("case", "quantity", "expected_open"),
    [
        ("equal", "1000", []),
        ("one piece short", "999", ["quantity_mismatch"]),
        ("one piece over", "1001", ["quantity_mismatch"]),
    ],
)
def test_confirmed_quantity_default_allows_no_difference(case: str, quantity: str, expected_open: list) -> None:
    """GIVEN the default 0 % quantity tolerance WHEN the supplier confirms `quantity` THEN any difference is open."""
    assert _open(_findings(_line(quantity=D(quantity)))) == expected_open, case


@pytest.mark.parametrize(
    ("case", "quantity", "resolution"),
    [("over exactly at 5 %", "1050", "within_tolerance"), ("over just past 5 %", "1051", None),
     ("under exactly at 2 %", "980", "within_tolerance"), ("under just past 2 %", "979", None)],
)
def test_quantity_over_and_under_have_separate_tolerances(case: str, quantity: str, resolution: str | None) -> None:
    """GIVEN 5 % over and 2 % under WHEN the supplier confirms `quantity` THEN each side has its own limit."""
    config = parse_config({"rules": {"quantity": {"over_pct": 5, "under_pct": 2}}}, "test.toml")
    assert _findings(_line(quantity=D(quantity)), config=config) == [("quantity_mismatch", "quantity.confirmed", resolution)], case


def test_rejected_line_is_an_open_quantity_mismatch() -> None:
    """GIVEN a line the supplier does not accept WHEN checked THEN a quantity mismatch of the whole line is open."""
    assert _findings(_line(status=LineStatus.REJECTED)) == [("quantity_mismatch", "line.rejected", None)]


def test_short_shipment_on_a_ship_notice_is_flagged() -> None:
    """GIVEN 1000 ordered WHEN a ship notice ships 800 THEN the short shipment is open."""
    assert _open(_findings(_line(quantity=D("800")), kind=DocumentKind.SHIP_NOTICE, certificates=("CoC",))) == ["quantity_mismatch"]


def test_second_ship_notice_completing_the_line_is_clean() -> None:
    """GIVEN 800 shipped before WHEN a ship notice ships the other 200 THEN nothing deviates."""
    history = PoHistory(shipped={1: D("800")}, certificates=frozenset({"COC"}))
    assert _findings(_line(quantity=D("200")), kind=DocumentKind.SHIP_NOTICE, history=history) == []


def test_split_shipment_lines_are_summed() -> None:
    """GIVEN one PO line shipped in two packages of 600 and 400 WHEN checked THEN the 1000 shipped match the PO."""
    lines = (_line(quantity=D("600")), _line(line="2", quantity=D("400")))
    assert _findings(*lines, kind=DocumentKind.SHIP_NOTICE, certificates=("CoC",)) == []


@pytest.mark.parametrize(
    ("case", "shipped", "invoiced", "expected_open"),
    [
        ("invoice equals shipment", "800", "800", []),
        ("invoice above shipment", "800", "900", ["quantity_mismatch"]),
        ("partial invoice", "800", "500", []),
        ("no shipment seen: against ordered", None, "1000", []),
        ("no shipment seen: above ordered", None, "1001", ["quantity_mismatch"]),
    ],
)
def test_three_way_match_invoice_against_shipped(case: str, shipped: str | None, invoiced: str, expected_open: list) -> None:
    """GIVEN what earlier ship notices shipped WHEN an invoice bills `invoiced` THEN only billing beyond what shipped is open."""
    history = PoHistory(shipped={} if shipped is None else {1: D(shipped)})
    found = _findings(_line(quantity=D(invoiced), delivery_date=None), kind=DocumentKind.INVOICE, history=history, number="INV-1")
    assert _open(found) == expected_open, case


def test_duplicate_invoice_number_is_critical() -> None:
    """GIVEN invoice INV-7 received before WHEN INV-7 arrives again THEN it is flagged as a duplicate."""
    history = PoHistory(invoice_numbers=frozenset({"INV-7"}))
    found = _findings(_line(delivery_date=None), kind=DocumentKind.INVOICE, history=history, number="INV-7")
    assert ("quantity_mismatch", "invoice.duplicate", None) in found


@pytest.mark.parametrize(
    ("case", "promised", "late_days", "expected"),
    [
        ("on the need-by date", date(2026, 11, 25), 1, []),
        # Thu 26 Nov is Thanksgiving: Fri 27 Nov is 1 business day late.
        ("Friday after the holiday, 1 day allowed", date(2026, 11, 27), 1, [("date_deviation", "date.late", "within_tolerance")]),
        ("Monday after, 2 business days late", date(2026, 11, 30), 1, [("date_deviation", "date.late", None)]),
        ("Friday after the holiday, none allowed", date(2026, 11, 27), 0, [("date_deviation", "date.late", None)]),
    ],
)
def test_late_delivery_counts_business_days_across_a_holiday(case: str, promised: date, late_days: int, expected: list) -> None:
    """GIVEN a US supplier and a need-by date before Thanksgiving WHEN a later date is promised THEN the holiday is not counted."""
    config = parse_config({"rules": {"date": {"late_days": late_days}}}, "test.toml")
    assert _findings(_line(delivery_date=promised), config=config) == expected, case


@pytest.mark.parametrize(
    ("case", "promised", "resolution"),
    [
        # Need-by Mon 30 Nov: Wed 25 Nov is 2 business days early (Thu 26 is a holiday, Fri 27 counts).
        ("2 business days early, 2 allowed", date(2026, 11, 25), "within_tolerance"),
        ("3 business days early, 2 allowed", date(2026, 11, 24), None),
    ],
)
def test_early_delivery_counts_business_days_across_a_holiday(case: str, promised: date, resolution: str | None) -> None:
    """GIVEN 2 business days early allowed WHEN an earlier date is promised across Thanksgiving THEN only beyond the limit is open."""
    config = parse_config({"rules": {"date": {"early_days": 2}}}, "test.toml")
    po = replace(PO, need_by=date(2026, 11, 30))
    assert _findings(_line(delivery_date=promised), config=config, po=po) == [("date_deviation", "date.early", resolution)], case


def test_promise_inside_the_lead_time_is_flagged() -> None:
    """GIVEN a supplier with 10 business days' lead time WHEN it promises delivery 3 days after confirming THEN it is flagged as infeasible."""
    supplier = replace(US_SUPPLIER, lead_time_days=10)
    po = replace(PO, need_by=date(2026, 11, 25))
    assert ("date_deviation", "date.lead_time", None) in _findings(_line(delivery_date=date(2026, 11, 25)), supplier=supplier, po=po)


def test_different_item_is_a_sku_mismatch() -> None:
    """GIVEN the PO orders FAS-M8 WHEN the supplier confirms FAS-M10 on that line THEN it is a SKU mismatch."""
    assert _open(_findings(_line(item="FAS-M10"))) == ["sku_mismatch"]


def test_substituted_item_is_an_unauthorized_change() -> None:
    """GIVEN the PO orders FAS-M8 WHEN the supplier changes the line to another item THEN it is an unauthorized change."""
    assert _open(_findings(_line(item="FAS-M8-B", status=LineStatus.CHANGED))) == ["unauthorized_change"]


def test_pack_of_ten_against_each_is_equivalent_and_auto_resolved() -> None:
    """GIVEN PK of 10 = 10 EA WHEN the supplier confirms 100 PK at 10.00 THEN the unit difference is auto-resolved and nothing else deviates."""
    config = parse_config({"unit_conversions": [{"unit": "PK", "equals": 10, "base": "EA"}]}, "test.toml")
    found = _findings(_line(quantity=D("100"), uom="PK", unit_price=D("10.00")), config=config)
    assert found == [("sku_mismatch", "sku.uom", "equivalent_uom")]


def test_pack_of_ten_with_too_few_packs_is_still_a_quantity_mismatch() -> None:
    """GIVEN PK of 10 = 10 EA WHEN the supplier confirms 90 PK THEN the converted 900 EA is short."""
    config = parse_config({"unit_conversions": [{"unit": "PK", "equals": 10, "base": "EA"}]}, "test.toml")
    assert _open(_findings(_line(quantity=D("90"), uom="PK", unit_price=D("10.00")), config=config)) == ["quantity_mismatch"]


def test_unit_without_conversion_is_an_open_sku_mismatch() -> None:
    """GIVEN no conversion from BX WHEN the supplier confirms in BX THEN the unit is an open SKU mismatch and quantity is not compared."""
    assert _findings(_line(quantity=D("4"), uom="BX")) == [("sku_mismatch", "sku.uom", None)]


def test_supplier_notation_of_the_same_unit_is_no_deviation() -> None:
    """GIVEN a PO in EA WHEN the supplier writes PCE, C62 or Stück THEN nothing deviates."""
    for uom in ("PCE", "C62", "Stück", "pcs"):
        assert _findings(_line(uom=uom)) == [], uom


def test_missing_certificate_on_a_ship_notice() -> None:
    """GIVEN a PO line requiring a CoC WHEN the ship notice arrives without one THEN documentation is missing; with one before, it is not."""
    assert _open(_findings(_line(), kind=DocumentKind.SHIP_NOTICE)) == ["missing_documentation"]
    history = PoHistory(certificates=frozenset({"COC"}))
    assert _findings(_line(), kind=DocumentKind.SHIP_NOTICE, history=history) == []


def test_currency_change_is_an_unauthorized_change_and_prices_are_not_compared() -> None:
    """GIVEN a USD PO WHEN the supplier confirms in EUR THEN the currency change is flagged and no price variance is invented."""
    assert _findings(_line(unit_price=D("0.93")), currency="EUR") == [("unauthorized_change", "change.currency", None)]


def test_added_line_is_an_unauthorized_change_and_unknown_line_is_unmatched() -> None:
    """GIVEN a confirmation with an extra line marked added and another nobody ordered WHEN checked THEN one is a change, the other unmatched."""
    doc = ParsedDocument(kind=DocumentKind.ACKNOWLEDGMENT, parser="test", po_number=PO.po_number, currency="USD",
                         lines=[_line(), _line(line="2", item="X-1", status=LineStatus.ADDED), _line(line="3", item="Y-1")])
    matches = [LineMatch(0, PO, 1.0, "test"), LineMatch(1, None, 0.0, "no PO line matches X-1"),
               LineMatch(2, None, 0.0, "no PO line matches Y-1")]
    found = [(d.category.value, d.rule) for d in evaluate(RuleInput(doc, [PO], matches, US_SUPPLIER, today=TODAY), Config())]
    assert found == [("unauthorized_change", "change.added_line"), ("unmatched", "match.line")]


def test_unknown_po_is_one_unmatched() -> None:
    """GIVEN no PO lines WHEN a confirmation is checked THEN one unmatched deviation names its reference."""
    doc = ParsedDocument(kind=DocumentKind.ACKNOWLEDGMENT, parser="test", po_number="4599999999", lines=[_line()])
    (deviation,) = evaluate(RuleInput(doc, [], [LineMatch(0, None, 0.0, "x")], today=TODAY), Config())
    assert (deviation.category.value, deviation.actual) == ("unmatched", "4599999999")


def test_whole_order_rejected_without_lines_flags_every_line() -> None:
    """GIVEN an order response rejecting the order with no lines WHEN checked THEN every PO line is not accepted."""
    doc = ParsedDocument(kind=DocumentKind.ACKNOWLEDGMENT, parser="test", po_number=PO.po_number, status=LineStatus.REJECTED)
    found = evaluate(RuleInput(doc, [PO, replace(PO, line=2)], [], today=TODAY), Config())
    assert [(d.rule, d.line) for d in found] == [("order.rejected", 1), ("order.rejected", 2)]


@pytest.mark.parametrize(
    ("overrides", "expected_open"),
    [
        ({}, ["price_variance"]),
        ({"suppliers": {"GLF": {"price": {"over_pct": 5}}}}, []),
        ({"item_groups": {"fasteners": {"price": {"over_pct": 5}}}}, []),
        ({"items": {"FAS-M8": {"price": {"over_pct": 5}}}}, []),
        ({"item_groups": {"fasteners": {"price": {"over_pct": 5}}}, "suppliers": {"GLF": {"price": {"over_pct": 2}}}}, ["price_variance"]),
        ({"suppliers": {"GLF": {"price": {"over_pct": 2}}}, "items": {"FAS-M8": {"price": {"over_pct": 5}}}}, []),
    ],
)
def test_tolerance_overrides_by_supplier_item_group_and_item(overrides: dict, expected_open: list) -> None:
    """GIVEN overrides at several levels WHEN a +3 % price is confirmed THEN the most specific (item > supplier > group) decides."""
    config = parse_config({"rules": overrides}, "test.toml")
    po = replace(PO, item_group="fasteners")
    assert _open(_findings(_line(unit_price=D("1.03")), config=config, po=po)) == expected_open


@pytest.mark.parametrize(
    ("category", "owner", "due", "escalate_to"),
    [
        ("price_variance", "anna@example.com", date(2026, 11, 24), "procurement.lead@example.com"),
        ("quantity_mismatch", "receiving@example.com", date(2026, 11, 23), "warehouse.manager@example.com"),
        ("date_deviation", "scheduling@example.com", date(2026, 11, 23), "supply.chain@example.com"),
        ("missing_documentation", "supplier.quality@example.com", date(2026, 11, 25), "quality.manager@example.com"),
    ],
)
def test_default_ownership_sla_and_escalation(category: str, owner: str, due: date, escalate_to: str) -> None:
    """GIVEN the default roles WHEN an exception is raised on Friday 20 Nov THEN owner, business-day due date and escalation follow the category."""
    assignment = assign_owner(Category(category), "anna@example.com", Config(), TODAY)
    assert (assignment.owner, assignment.due, assignment.escalate_to) == (owner, due, escalate_to)


def test_sla_clock_skips_the_company_holidays() -> None:
    """GIVEN a US company calendar WHEN a 1-day SLA starts on Wednesday before Thanksgiving THEN it is due on Friday."""
    config = parse_config({"calendar": {"country": "US"}}, "test.toml")
    assert assign_owner(Category.DATE_DEVIATION, None, config, date(2026, 11, 25)).due == date(2026, 11, 27)


def test_business_days_between_count_the_end_not_the_start() -> None:
    """GIVEN the US calendar WHEN counting Wed 25 Nov to Mon 30 Nov THEN Fri 27 and Mon 30 count: 2."""
    assert calendar_for("US").between(date(2026, 11, 25), date(2026, 11, 30)) == 2


@pytest.mark.parametrize(
    ("ordered", "stated", "flagged"),
    [
        ("NET30", "net 30 days", False),
        ("2/10 net 30", "2% 10 days, net 30 days", False),
        ("30 Tage netto", "net 30 days", False),
        ("NET30", "net 60 days", True),
        ("2/10 net 30", "net 30 days", True),
        (None, "net 60 days", False),
        ("NET30", None, False),
    ],
)
def test_payment_terms_change_is_an_unauthorized_change(ordered: str | None, stated: str | None, flagged: bool) -> None:
    """GIVEN the PO's payment terms WHEN the supplier states terms THEN only terms that differ in meaning are flagged."""
    po = replace(PO, payment_terms=ordered)
    doc = ParsedDocument(kind=DocumentKind.INVOICE, parser="test", po_number=po.po_number, currency="USD",
                         payment_terms=stated, lines=[_line(delivery_date=None)])
    found = evaluate(RuleInput(doc, [po], [LineMatch(0, po, 1.0, "test")], US_SUPPLIER, today=TODAY), Config())
    assert (("unauthorized_change", "change.payment_terms") in [(d.category.value, d.rule) for d in found]) is flagged
