"""Matching: which PO line each document line is about, with a score and a reason a buyer can read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from matcher import match_lines, normalise_po_reference
from poguard.domain import DocumentKind, ParsedDocument, ParsedLine, POLine


def _po_line(line: int, item: str, supplier_item: str | None) -> POLine:
    return POLine(
        po_number="4500017001", line=line, supplier_id="GLF", item=item, supplier_item=supplier_item,
        description=item, quantity=Decimal("10"), uom="EA", unit_price=Decimal("1"), currency="USD",
        need_by=date(2027, 1, 15), buyer="anna@example.com",
    )


PO = [_po_line(1, "FAS-M8-40", "GLF-HX-840"), _po_line(2, "FAS-N8", "GLF-NT-800"), _po_line(3, "FAS-W8", None)]


def _doc(*lines: ParsedLine) -> ParsedDocument:
    return ParsedDocument(kind=DocumentKind.ACKNOWLEDGMENT, parser="test", po_number="4500017001", lines=list(lines))


@pytest.mark.parametrize(
    ("reference", "normalised"),
    [("4500017001", "4500017001"), (" PO# 4500-017001 ", "4500017001"), ("po 4500 017001", "4500017001"),
     ("Bestellung Nr. 4500017001", "4500017001"), ("", None), (None, None)],
)
def test_po_references_are_normalised(reference: str | None, normalised: str | None) -> None:
    """GIVEN a PO reference as a supplier wrote it WHEN normalised THEN prefixes, spaces and dashes are gone."""
    assert normalise_po_reference(reference) == normalised


def test_shuffled_lines_match_by_supplier_item_not_position() -> None:
    """GIVEN document lines in another order, numbered 1 and 2, naming supplier items WHEN matched THEN the items win over the numbers."""
    matches = match_lines(_doc(ParsedLine(line="1", supplier_item="GLF-NT-800"), ParsedLine(line="2", supplier_item="GLF-HX-840")), PO, 0.6)
    assert [m.po_line.line for m in matches if m.po_line] == [2, 1]
    assert matches[0].reason.startswith("supplier item GLF-NT-800 = PO line 2")


def test_po_line_reference_is_the_strongest_evidence() -> None:
    """GIVEN a line referring to PO line 3 WHEN matched THEN it is PO line 3 with a full score."""
    (match,) = match_lines(_doc(ParsedLine(line="7", po_line="3")), PO, 0.6)
    assert match.po_line is not None and match.po_line.line == 3 and match.score == 1.0


def test_buyer_item_in_another_case_still_matches() -> None:
    """GIVEN a buyer item written in lower case WHEN matched THEN it is found, with the reason naming it."""
    (match,) = match_lines(_doc(ParsedLine(item="fas-w8")), PO, 0.6)
    assert match.po_line is not None and match.po_line.line == 3 and "buyer item fas-w8" in match.reason


def test_line_with_no_evidence_is_unmatched_with_a_reason() -> None:
    """GIVEN a line naming an item the PO does not have WHEN matched THEN it is unmatched and says what it looked for."""
    (match,) = match_lines(_doc(ParsedLine(line="9", supplier_item="XYZ-1")), PO, 0.6)
    assert match.po_line is None and match.reason == "no PO line matches XYZ-1"


def test_one_po_line_is_not_given_to_two_document_lines() -> None:
    """GIVEN two document lines both numbered 1 WHEN matched THEN only one gets PO line 1."""
    matches = match_lines(_doc(ParsedLine(line="1"), ParsedLine(line="1")), PO, 0.6)
    assert [m.po_line.line if m.po_line else None for m in matches] == [1, None]


def test_a_po_line_shipped_in_two_packages_is_matched_twice_on_a_ship_notice() -> None:
    """GIVEN a ship notice with two package lines of the same supplier item WHEN matched THEN both belong to PO line 1, the second as a split."""
    doc = ParsedDocument(kind=DocumentKind.SHIP_NOTICE, parser="test", po_number="4500017001", lines=[
        ParsedLine(line="1", supplier_item="GLF-HX-840", quantity=Decimal("600")),
        ParsedLine(line="2", supplier_item="GLF-HX-840", quantity=Decimal("400")),
        ParsedLine(line="3", supplier_item="GLF-NT-800", quantity=Decimal("10")),
    ])
    matches = match_lines(doc, PO, 0.6)
    assert [m.po_line.line if m.po_line else None for m in matches] == [1, 1, 2]
    assert matches[1].reason.endswith("(part of a split line)")


def test_an_acknowledgment_never_splits_a_po_line() -> None:
    """GIVEN an acknowledgment naming the same supplier item twice WHEN matched THEN the second line is unmatched, not a split."""
    doc = ParsedDocument(kind=DocumentKind.ACKNOWLEDGMENT, parser="test", po_number="4500017001", lines=[
        ParsedLine(line="1", supplier_item="GLF-HX-840"), ParsedLine(line="5", supplier_item="GLF-HX-840")])
    assert [m.po_line.line if m.po_line else None for m in match_lines(doc, PO, 0.6)] == [1, None]


def test_description_alone_finds_the_line_when_ids_are_missing() -> None:
    """GIVEN a line with only a description close to the PO's WHEN matched THEN the PO line is found with the similarity in the reason."""
    doc = _doc(ParsedLine(description="hex nut M8"))
    lines = [POLine(po_number="4500017001", line=1, supplier_id="GLF", item="A", supplier_item=None,
                    description="Hex bolt M8x40 zinc", quantity=Decimal("10"), uom="EA", unit_price=Decimal("1"),
                    currency="USD", need_by=date(2027, 1, 15), buyer="anna@example.com"),
             POLine(po_number="4500017001", line=2, supplier_id="GLF", item="B", supplier_item=None,
                    description="Hex nut M8 class 8", quantity=Decimal("10"), uom="EA", unit_price=Decimal("1"),
                    currency="USD", need_by=date(2027, 1, 15), buyer="anna@example.com")]
    (match,) = match_lines(doc, lines, 0.6)
    assert match.po_line is not None and match.po_line.line == 2 and "% similar" in match.reason
