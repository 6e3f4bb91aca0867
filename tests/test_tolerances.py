"""Each tolerance at its boundary: exactly at the limit is accepted, just over is flagged, in both directions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from poguard.config import Config, DateTolerance, PriceTolerance, QuantityTolerance, parse_config
from poguard.domain import Category, DocumentKind, LineMatch, LineStatus, ParsedDocument, ParsedLine, POLine
from rules import RuleInput, evaluate
from rules.tolerances import beyond_tolerance, date_beyond_tolerance

D = Decimal
PRICE = PriceTolerance(over_pct=D("2"), under_pct=D("5"), over_abs=D("0.50"), under_abs=D("1.00"))


@pytest.mark.parametrize(
    ("case", "actual", "flagged"),
    [
        ("equal", "100", False),
        ("over exactly at 2 %", "102", False),
        ("over just past 2 %", "102.01", True),
        ("under exactly at 5 %", "95", False),
        ("under just past 5 %", "94.99", True),
    ],
)
def test_price_percent_boundaries(case: str, actual: str, flagged: bool) -> None:
    """GIVEN a 100.00 PO price and 2 % over / 5 % under WHEN the supplier quotes `actual` THEN only past the limit is flagged."""
    tolerance = PriceTolerance(over_pct=D("2"), under_pct=D("5"))
    assert beyond_tolerance(D("100"), D(actual), tolerance) is flagged, case


@pytest.mark.parametrize(
    ("case", "actual", "flagged"),
    [
        ("over exactly at 0.50 abs", "10.50", False),
        ("over just past 0.50 abs", "10.51", True),
        ("under exactly at 1.00 abs", "9.00", False),
        ("under just past 1.00 abs", "8.99", True),
    ],
)
def test_price_absolute_boundaries(case: str, actual: str, flagged: bool) -> None:
    """GIVEN a 10.00 PO price and absolute limits only WHEN the supplier quotes `actual` THEN only past the limit is flagged."""
    tolerance = PriceTolerance(over_pct=None, under_pct=None, over_abs=D("0.50"), under_abs=D("1.00"))
    assert beyond_tolerance(D("10"), D(actual), tolerance) is flagged, case


def test_price_is_flagged_when_any_set_limit_is_exceeded() -> None:
    """GIVEN 2 % and 0.50 over WHEN a 1000.00 price rises by 0.60 (0.06 %) THEN the absolute limit flags it."""
    assert beyond_tolerance(D("1000"), D("1000.60"), PRICE)
    assert not beyond_tolerance(D("1000"), D("1000.50"), PRICE)


@pytest.mark.parametrize(
    ("case", "actual", "flagged"),
    [
        ("over exactly at 10 %", "110", False),
        ("over just past 10 %", "110.001", True),
        ("under exactly at 0 %", "100", False),
        ("under by one piece", "99", True),
    ],
)
def test_quantity_boundaries(case: str, actual: str, flagged: bool) -> None:
    """GIVEN 100 ordered, 10 % over and no under-delivery allowed WHEN `actual` is confirmed THEN only past the limit is flagged."""
    tolerance = QuantityTolerance(over_pct=D("10"), under_pct=D("0"))
    assert beyond_tolerance(D("100"), D(actual), tolerance) is flagged, case


@pytest.mark.parametrize(
    ("case", "shift_days", "flagged"),
    [
        ("on time", 0, False),
        ("late exactly at 2 days", 2, False),
        ("late just past 2 days", 3, True),
        ("early exactly at 5 days", -5, False),
        ("early just past 5 days", -6, True),
    ],
)
def test_date_boundaries(case: str, shift_days: int, flagged: bool) -> None:
    """GIVEN 2 business days late and 5 early allowed WHEN the supplier is `shift_days` business days off THEN only past the limit is flagged."""
    tolerance = DateTolerance(early_days=5, late_days=2)
    assert date_beyond_tolerance(shift_days, tolerance) is flagged, case


PO_LINE = POLine(
    po_number="4500000001", line=1, supplier_id="GLF", item="FAS-M8", supplier_item="GLF-8",
    description="Hex bolt M8", quantity=D("1000"), uom="EA", unit_price=D("1.00"), currency="USD",
    need_by=date(2027, 1, 15), buyer="anna@example.com",
)


def _categories(config: Config, supplier_id: str, unit_price: str) -> list[Category]:
    """The categories of the open (not auto-resolved) deviations of a confirmation at `unit_price`."""
    po_line = replace(PO_LINE, supplier_id=supplier_id)
    doc = ParsedDocument(
        kind=DocumentKind.ACKNOWLEDGMENT, parser="test", po_number="4500000001", currency="USD",
        lines=[ParsedLine(line="1", quantity=D("1000"), uom="PCE", unit_price=D(unit_price),
                          delivery_date=date(2027, 1, 15), status=LineStatus.ACCEPTED)],
    )
    matches = [LineMatch(0, po_line, 1.0, "line number 1 = PO line 1")]
    deviations = evaluate(RuleInput(doc, [po_line], matches, today=date(2026, 11, 25)), config)
    return [d.category for d in deviations if d.resolution is None]


def test_supplier_override_widens_the_price_tolerance_for_that_supplier_only() -> None:
    """GIVEN 1 % by default and 5 % for GLF WHEN both confirm +4 % THEN only the other supplier is flagged."""
    config = parse_config({"rules": {"suppliers": {"GLF": {"price": {"over_pct": 5}}}}}, "test.toml")
    assert _categories(config, "GLF", "1.04") == []
    assert _categories(config, "ACB", "1.04") == [Category.PRICE_VARIANCE]


def test_supplier_override_keeps_the_defaults_it_does_not_name() -> None:
    """GIVEN a GLF override of over_pct only WHEN GLF quotes 6 % under THEN the default 5 % under-limit still flags it."""
    config = parse_config({"rules": {"suppliers": {"GLF": {"price": {"over_pct": 5}}}}}, "test.toml")
    assert _categories(config, "GLF", "0.94") == [Category.PRICE_VARIANCE]


def test_equivalent_unit_is_no_deviation() -> None:
    """GIVEN a PO in EA WHEN the supplier confirms the same quantity and price in PCE THEN nothing is flagged."""
    assert _categories(Config(), "GLF", "1.00") == []
