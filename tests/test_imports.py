"""CSV imports: a bad row is reported with its line number and column, and nothing from that file is imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from poguard.errors import InputRejected
from poguard.imports import read_po_lines, read_suppliers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PO_HEADER = "po_number,line,supplier_id,item,supplier_item,description,quantity,uom,unit_price,currency,need_by,buyer,required_docs\n"
GOOD_ROW = "4500000001,1,GLF,FAS-M8,GLF-8,Hex bolt,100,EA,0.12,USD,2027-01-15,anna@example.com,CoC;MTR\n"


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pos.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_fixture_files_import() -> None:
    """GIVEN the bundled fixtures WHEN read THEN every supplier and PO line is there, with lists split."""
    suppliers = read_suppliers(FIXTURES / "suppliers.csv")
    lines = read_po_lines(FIXTURES / "pos.csv")
    assert [s.supplier_id for s in suppliers] == ["GLF", "RHK", "ACB"]
    assert suppliers[0].emails == ("orders@glfastener.com", "@glfastener.com")
    assert suppliers[2].lead_time_days is None
    assert len(lines) == 9 and lines[0].required_docs == ("CoC",)


@pytest.mark.parametrize(
    ("row", "column", "expected"),
    [
        ("4500000001,1,GLF,FAS-M8,,Hex bolt,1.234,5,EA,0.12,USD,2027-01-15,anna@example.com,\n", "*", "14 values for 13 columns"),
        ("4500000001,1,GLF,FAS-M8,,Hex bolt,100,EA,\"0,12\",USD,2027-01-15,anna@example.com,\n", "unit_price", "expected a decimal with '.'"),
        ("4500000001,1,GLF,FAS-M8,,Hex bolt,100,EA,0.12,USD,15.01.2027,anna@example.com,\n", "need_by", "expected an ISO date"),
        ("4500000001,x,GLF,FAS-M8,,Hex bolt,100,EA,0.12,USD,2027-01-15,anna@example.com,\n", "line", "expected a whole number"),
        ("4500000001,1,GLF,FAS-M8,,Hex bolt,12a,EA,0.12,USD,2027-01-15,anna@example.com,\n", "quantity", "expected a decimal"),
        ("4500000001,1,GLF,FAS-M8,,Hex bolt,100,EA,0.12,US,2027-01-15,anna@example.com,\n", "currency", "3-letter"),
        ("4500000001,1,GLF,FAS-M8,,Hex bolt,100,EA,0.12,USD,2027-01-15,anna,\n", "buyer", "e-mail"),
        ("4500000001,1,GLF,,,Hex bolt,100,EA,0.12,USD,2027-01-15,anna@example.com,\n", "item", "is empty"),
    ],
)
def test_bad_po_row_is_reported_with_line_and_column(tmp_path: Path, row: str, column: str, expected: str) -> None:
    """GIVEN a good row then a bad one WHEN read THEN the error names line 3 (and the column) and nothing is returned."""
    path = _csv(tmp_path, PO_HEADER + GOOD_ROW + row)
    with pytest.raises(InputRejected) as caught:
        read_po_lines(path)
    message = str(caught.value)
    assert f"{path}:3: column {column}: " in message and expected in message


def test_missing_column_is_named(tmp_path: Path) -> None:
    """GIVEN a PO file without the currency column WHEN read THEN the error names it."""
    path = _csv(tmp_path, PO_HEADER.replace(",currency", "") + "x\n")
    with pytest.raises(InputRejected, match="missing column\\(s\\) currency"):
        read_po_lines(path)


def test_same_po_line_twice_is_rejected(tmp_path: Path) -> None:
    """GIVEN a PO line listed twice WHEN read THEN the file is rejected."""
    with pytest.raises(InputRejected, match="listed twice"):
        read_po_lines(_csv(tmp_path, PO_HEADER + GOOD_ROW + GOOD_ROW))


def test_bad_supplier_email_entry_is_reported(tmp_path: Path) -> None:
    """GIVEN an emails entry that is neither an address nor @domain WHEN read THEN line and column are named."""
    path = tmp_path / "suppliers.csv"
    path.write_text("supplier_id,name,emails,edi_ids,lead_time_days\nGLF,Great Lakes,sales at glf,,\n", encoding="utf-8")
    with pytest.raises(InputRejected, match=r"suppliers.csv:2: column emails"):
        read_suppliers(path)
