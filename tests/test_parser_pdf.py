"""The PDF parser: our fixture PDFs against golden files, the public invoice corpus by share of fields read,
malformed PDFs, locale numbers and dates, the table reader and supplier templates."""

from __future__ import annotations

import io
import json
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

import parsers.pdf as pdf_module
from parsers.numbers import detect_day_first, detect_decimal_mark, parse_amount, parse_date
from parsers.pdf import PdfParser, detect_language
from parsers.pdf_tables import TableSpec, TextLine, Word, read_table
from parsers.pdf_templates import load_template
from poguard.domain import DocumentKind, ParsedDocument
from poguard.errors import ConfigError, ParseError
from tests.conftest import CORPUS, FIXTURES
from tests.golden import assert_matches_golden, expected_path

PDF_FIXTURES = sorted((FIXTURES / "pdf").glob("*.pdf"))
CORPUS_INVOICES = sorted((CORPUS / "pdf" / "invoices").glob("*.pdf"))
MALFORMED = sorted((CORPUS / "pdf" / "malformed").glob("*.pdf"))
TEMPLATES = FIXTURES / "pdf_templates"

FIELDS = ("number", "date", "total", "currency")
FLOORS = {"number": 21, "date": 26, "total": 24, "currency": 25}
"""Fields read right on the corpus invoices without templates: measured, minus a little, so a regression fails."""


def _parse(path: Path) -> list[ParsedDocument]:
    return PdfParser().parse(path.read_bytes())


@pytest.mark.parametrize("fixture", PDF_FIXTURES, ids=lambda path: path.name)
def test_fixture_pdf_parses_to_its_golden_file(fixture: Path) -> None:
    """GIVEN one of our supplier PDFs WHEN parsed THEN the documents equal its reviewed golden file."""
    assert_matches_golden(fixture, _parse(fixture))


@pytest.mark.parametrize("fixture", PDF_FIXTURES, ids=lambda path: path.name)
def test_fixture_pdf_with_golden_file_is_claimed(fixture: Path) -> None:
    """GIVEN a PDF with a golden file WHEN sniffed THEN the PDF parser claims it with at least 0.9."""
    assert expected_path(fixture).exists()
    assert PdfParser().sniff(fixture.read_bytes()) >= 0.9


@pytest.mark.parametrize(
    "raw",
    [b"", b"UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER'", b"ISA*00*          *00*", b"x" * 2000 + b"%PDF-1.4", b"\xff\xfe"],
    ids=["empty", "edifact", "x12", "pdf-marker-after-1kb", "binary"],
)
def test_content_that_is_no_pdf_is_not_claimed(raw: bytes) -> None:
    """GIVEN bytes that do not start (within 1 KB) with %PDF WHEN sniffed THEN the score is 0.0."""
    assert PdfParser().sniff(raw) == 0.0


def test_pdf_after_some_junk_is_still_claimed() -> None:
    """GIVEN a PDF with 500 bytes of mail junk before it WHEN sniffed THEN the PDF parser claims it."""
    assert PdfParser().sniff(b"\r\n" * 250 + PDF_FIXTURES[0].read_bytes()) >= 0.9


def _expected_fields(path: Path) -> dict[str, set[str]]:
    """The corpus's expected number, date (ISO), totals and currency for one invoice, as accepted strings."""
    data = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    data = data[0] if isinstance(data, list) else data
    if "document_number" in data:
        issue = data.get("issue_date") or ""
        values = {
            "number": [data.get("document_number")],
            "date": [f"{issue[:4]}-{issue[4:6]}-{issue[6:8]}" if len(issue) >= 8 else None],
            "total": [data.get("grand_total"), data.get("due_payable")],
            "currency": [data.get("currency")],
        }
    else:
        values = {
            "number": [data.get("invoice_number")],
            "date": [data.get("date")],
            "total": [data.get("amount")],
            "currency": [data.get("currency")],
        }
    return {name: {str(value) for value in accepted if value is not None} for name, accepted in values.items()}


def _field_is_right(name: str, document: ParsedDocument, accepted: set[str]) -> bool:
    if name == "number":
        return document.number is not None and document.number.strip().lstrip("#") in {
            value.strip().lstrip("#").strip() for value in accepted
        }
    if name == "date":
        return document.issue_date is not None and document.issue_date.isoformat() in accepted
    if name == "total":
        return document.total is not None and any(
            abs(document.total - Decimal(value)) <= Decimal("0.01") for value in accepted
        )
    return document.currency in accepted


def test_corpus_invoice_fields_are_read_without_templates() -> None:
    """GIVEN the corpus invoices WHEN read without templates or embedded XML THEN the share right is printed."""
    right = dict.fromkeys(FIELDS, 0)
    asked = dict.fromkeys(FIELDS, 0)
    for path in CORPUS_INVOICES:
        document = _parse(path)[0]
        for name, accepted in _expected_fields(path).items():
            if accepted:
                asked[name] += 1
                right[name] += _field_is_right(name, document, accepted)
    total_right, total_asked = sum(right.values()), sum(asked.values())
    breakdown = ", ".join(f"{name} {right[name]}/{asked[name]}" for name in FIELDS)
    print(f"\ninvoice fields extracted: {total_right}/{total_asked} = {total_right / total_asked:.0%} ({breakdown})")
    assert all(right[name] >= FLOORS[name] for name in FIELDS), breakdown


@pytest.mark.parametrize("path", MALFORMED, ids=lambda path: path.name)
def test_malformed_pdf_fails_with_a_specific_code_or_reports_problems(path: Path) -> None:
    """GIVEN a broken corpus PDF WHEN parsed THEN a pdf-* ParseError or documents with problems, quickly."""
    started = time.monotonic()
    try:
        documents = _parse(path)
    except ParseError as error:
        assert error.code in {"pdf-unreadable", "pdf-encrypted", "pdf-empty", "pdf-no-text-layer"}
    else:
        assert documents and all(document.problems for document in documents)
    assert time.monotonic() - started < 10


def test_encrypted_pdf_is_reported_as_encrypted() -> None:
    """GIVEN a password-protected PDF WHEN parsed THEN ParseError pdf-encrypted."""
    with pytest.raises(ParseError) as raised:
        _parse(CORPUS / "pdf" / "malformed" / "pypdf__encrypted-file_password_test.pdf")
    assert raised.value.code == "pdf-encrypted"


def test_truncated_pdf_is_unreadable_with_the_library_reason() -> None:
    """GIVEN a 15-byte truncated PDF WHEN parsed THEN ParseError pdf-unreadable saying why."""
    with pytest.raises(ParseError) as raised:
        _parse(CORPUS / "pdf" / "malformed" / "mustang__corrupt-factur-x-waytoosmall.pdf")
    assert raised.value.code == "pdf-unreadable"
    assert "Root" in raised.value.message


def test_scanned_pdf_without_text_layer_is_recognised() -> None:
    """GIVEN a PDF whose only page is an image WHEN parsed THEN ParseError pdf-no-text-layer with an OCR hint."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawImage(ImageReader(Image.new("L", (40, 40), 128)), 50, 50, 200, 200)
    canvas.save()
    with pytest.raises(ParseError) as raised:
        PdfParser().parse(buffer.getvalue())
    assert (raised.value.code, raised.value.hint) == ("pdf-no-text-layer", "OCR is not supported yet")


def test_placeholder_pdf_yields_no_invented_fields() -> None:
    """GIVEN the 'empty invoice' placeholder PDF WHEN parsed THEN no number, total, date or lines are made up."""
    document = _parse(CORPUS / "pdf" / "other" / "oca-edi__unknown_invoice_placeholder.pdf")[0]
    assert (document.number, document.total, document.issue_date, document.lines) == (None, None, None, [])
    assert {"pdf-no-number", "pdf-no-total", "pdf-no-line-table"} <= {problem.code for problem in document.problems}


def test_credit_note_is_an_invoice_with_a_problem_saying_so() -> None:
    """GIVEN a French 'Avoir' WHEN parsed THEN it is an invoice with a negative total and a pdf-credit-note problem."""
    document = _parse(CORPUS / "pdf" / "invoices" / "mustang__validAvoir_FR_type380_BASICWL.pdf")[0]
    assert document.kind is DocumentKind.INVOICE and document.total == Decimal("-233.47")
    assert "pdf-credit-note" in {problem.code for problem in document.problems}


@pytest.mark.parametrize(
    ("text", "decimal_mark", "expected"),
    [
        ("1,234.56", ".", "1234.56"),
        ("1.234,56", ",", "1234.56"),
        ("1 234,56", ",", "1234.56"),
        ("1\u00a0234,56", ",", "1234.56"),
        ("1\u202f234,56", ",", "1234.56"),
        ("1\u2009234,56", ",", "1234.56"),
        ("1'234.56", ".", "1234.56"),
        ("1\u2019234.56", ".", "1234.56"),
        ("1.234", ",", "1234"),
        ("1.234", ".", "1.234"),
        ("1,234", ",", "1.234"),
        ("12.345.678,9", ",", "12345678.9"),
        ("€ 2.321,00", ",", "2321.00"),
        ("$4.11", ".", "4.11"),
        ("1 032,00 GBP", ",", "1032.00"),
        ("189,00-", ",", "-189.00"),
        ("(12.00)", ".", "-12.00"),
        ("-5,77", ",", "-5.77"),
        ("1.5", ",", None),
        ("12,34,56", ".", None),
        ("abc", ".", None),
        ("", ".", None),
    ],
)
def test_amount_is_read_by_the_documents_decimal_mark(text: str, decimal_mark: str, expected: str | None) -> None:
    """GIVEN an amount as printed and the document's decimal mark WHEN parsed THEN its Decimal, or None if malformed."""
    assert parse_amount(text, decimal_mark) == (None if expected is None else Decimal(expected))


@pytest.mark.parametrize(
    ("texts", "default", "expected"),
    [
        (["Preis 3,85 EUR/kg", "Betrag 1.925,00"], ".", ","),
        (["Unit price 0.12", "Amount 1,200.00"], ",", "."),
        (["Total TTC 1 032,00"], ".", ","),
        (["CHF 1'234.50"], ",", "."),
        (["Qty 1.234"], ",", ","),
        (["Qty 1.234"], ".", "."),
        (["Datum 03.02.2027", "Menge 1.000"], ".", "."),
        (["20.0 81,90 €", "16,38 €", "Taxes 46,25 €"], ".", ","),
        ([], ",", ","),
    ],
    ids=["german", "english", "french-space", "swiss", "ambiguous-de", "ambiguous-en", "dates-are-no-evidence",
         "majority-wins", "nothing"],
)
def test_decimal_mark_is_decided_once_per_document(texts: list[str], default: str, expected: str) -> None:
    """GIVEN a document's texts and its language's default WHEN detected THEN the evidence wins, else the default."""
    assert detect_decimal_mark(texts, default) == expected


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("3. Februar 2027", True, date(2027, 2, 3)),
        ("03.02.2027", True, date(2027, 2, 3)),
        ("03.02.2027", False, date(2027, 2, 3)),  # dots are day.month in every locale
        ("Feb 3, 2027", False, date(2027, 2, 3)),
        ("August 3 , 2014", False, date(2014, 8, 3)),
        ("3 février 2027", True, date(2027, 2, 3)),
        ("02 Juillet 2015", True, date(2015, 7, 2)),
        ("3 de febrero de 2027", True, date(2027, 2, 3)),
        ("19 april 2014", True, date(2014, 4, 19)),
        ("2027-02-03", False, date(2027, 2, 3)),
        ("2024/07/05", True, date(2024, 7, 5)),
        ("26.10.22", True, date(2022, 10, 26)),
        ("01/15/2027", False, date(2027, 1, 15)),
        ("01/15/2027", True, None),
        ("no date here", True, None),
    ],
)
def test_date_is_read_in_the_documents_order(text: str, day_first: bool, expected: date | None) -> None:
    """GIVEN a date as printed and the document's day order WHEN parsed THEN the date, or None when impossible."""
    assert parse_date(text, day_first) == expected


@pytest.mark.parametrize(
    ("texts", "language", "expected"),
    [
        (["Datum 03.02.2027"], "de", (True, True)),
        (["Date de facture 02/03/2027"], "fr", (True, True)),
        (["Fecha 02/03/2027"], "es", (True, True)),
        (["Date: 01/08/2027", "Ship 01/15/2027"], "en", (False, True)),
        (["Invoice Date: 21/09/2022"], "en", (True, True)),
        (["Date: 3 February 2027", "Due 02/03/2027"], "en", (True, True)),
        (["Date: 02/03/2027"], "en", (False, False)),
        (["01/15/2027", "15/01/2027"], "en", (False, False)),
    ],
    ids=["german", "french", "spanish", "us-evidence", "uk-evidence", "month-name-evidence", "us-assumed", "conflict"],
)
def test_day_order_comes_from_language_and_evidence(
    texts: list[str], language: str, expected: tuple[bool, bool]
) -> None:
    """GIVEN a document's texts and language WHEN the day order is detected THEN (day_first, settled) as expected."""
    assert detect_day_first(texts, language) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Rechnung Nr. 1 Menge Preis Betrag", "de"), ("Facture n° 1 Quantité Prix Montant TTC", "fr"),
     ("Factura Fecha Cantidad Precio Importe", "es"), ("Invoice Quantity Unit Price Amount", "en"), ("", "en")],
)
def test_language_is_told_by_its_document_words(text: str, expected: str) -> None:
    """GIVEN document text WHEN its language is detected THEN the language with most document words wins."""
    assert detect_language([text]) == expected


def _line(page: int, number: int, top: float, *cells: tuple[float, str]) -> TextLine:
    words = []
    for x0, text in cells:
        for offset, part in enumerate(text.split()):
            words.append(Word(part, x0 + offset * 40, x0 + offset * 40 + 30, top, top + 9))
    return TextLine(page, number, tuple(words))


HEADER = ((40, "Pos"), (100, "Description"), (300, "Qty"), (360, "Unit"), (420, "Price"))


def test_wrapped_description_is_joined_to_the_row_above() -> None:
    """GIVEN a description wrapping onto a line without quantity WHEN the table is read THEN one row, joined."""
    page = [
        _line(1, 1, 100, *HEADER),
        _line(1, 2, 112, (40, "1"), (100, "Bolt"), (300, "5"), (360, "EA"), (420, "0.12")),
        _line(1, 3, 124, (100, "zinc")),
        _line(1, 4, 136, (40, "2"), (100, "Nut"), (300, "7"), (360, "EA"), (420, "0.04")),
    ]
    rows = read_table([page], TableSpec(), ".")
    assert [row.cells["description"] for row in rows] == ["Bolt zinc", "Nut"]


@pytest.mark.parametrize("header_repeated", [True, False], ids=["header-repeated", "header-not-repeated"])
def test_table_continues_across_pages(header_repeated: bool) -> None:
    """GIVEN rows going on on page 2, with or without the header again WHEN read THEN all rows, in order."""
    first = [_line(1, 1, 100, *HEADER), _line(1, 2, 112, (40, "1"), (100, "Bolt"), (300, "5"), (360, "EA"))]
    second = [_line(2, 1, 40, (40, "Page 2 of 2"))]
    second += [_line(2, 2, 100, *HEADER)] if header_repeated else []
    second += [_line(2, 3, 112, (40, "2"), (100, "Nut"), (300, "7"), (360, "EA")), _line(2, 4, 124, (40, "Total 12"))]
    rows = read_table([first, second], TableSpec(), ".")
    assert [(row.line.page, row.cells["description"]) for row in rows] == [(1, "Bolt"), (2, "Nut")]


def test_two_page_fixture_reads_both_lines_and_their_wrapped_notes() -> None:
    """GIVEN the two-page packing slip (header not repeated) WHEN parsed THEN two lines, one per page."""
    document = _parse(FIXTURES / "pdf" / "glf_packing_slip_two_pages_4500017004.pdf")[0]
    assert document.kind is DocumentKind.SHIP_NOTICE
    assert [(line.supplier_item, line.quantity) for line in document.lines] == [
        ("GLF-HX-1060", Decimal("1000")), ("GLF-NT-1000", Decimal("1000"))
    ]
    assert document.lines[1].provenance["quantity"].source.startswith("page 2")


def test_template_overrides_the_generic_reader() -> None:
    """GIVEN a supplier template whose match fits WHEN the PDF is parsed THEN its field rules and columns win."""
    parser = PdfParser(templates=[TEMPLATES / "rheintal.toml"])
    document = parser.parse((FIXTURES / "pdf" / "rhk_auftragsbestaetigung_4500017002.pdf").read_bytes())[0]
    assert document.number == "27-0815"
    assert document.provenance["number"].confidence == 0.95
    assert "template rheintal" in document.provenance["number"].source
    assert [line.unit_price for line in document.lines] == [Decimal("3.85"), Decimal("4.20")]


def test_template_that_does_not_match_leaves_the_generic_reader() -> None:
    """GIVEN a template for another supplier WHEN a PDF is parsed THEN the generic reader's number stands."""
    parser = PdfParser(templates=[TEMPLATES / "rheintal.toml"])
    document = parser.parse((FIXTURES / "pdf" / "acb_facture_4500017003.pdf").read_bytes())[0]
    assert document.number == "FA-2027-0107"


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ('name = "x"\nmatch = "x"\nmatsch = "y"\n', "matsch"),
        ('name = "x"\nmatch = "(unclosed"\n', "match"),
        ('name = "x"\nmatch = "x"\n[fields]\nweight = "kg"\n', "fields.weight"),
        ('name = "x"\nmatch = "x"\n[table]\ncolumns = { quantity = [1, 2] }\n', "table"),
        ('name = "x"\nmatch = [', "cannot read"),
    ],
    ids=["unknown-key", "bad-regex", "unknown-field", "columns-without-header", "bad-toml"],
)
def test_bad_template_raises_config_error_naming_file_and_key(tmp_path: Path, content: str, key: str) -> None:
    """GIVEN a template file with a mistake WHEN loaded THEN ConfigError naming the file and the key."""
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_template(path)
    assert str(path) in raised.value.message and key in raised.value.message


def test_pages_beyond_the_limit_are_reported_as_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a three-page PDF and a two-page limit WHEN parsed THEN the skipped page is a problem, not a silent loss."""
    monkeypatch.setattr(pdf_module, "MAX_PAGES", 2)
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    for page in range(1, 4):
        canvas.drawString(72, 720, f"Order Confirmation OC-1 page {page} Your order 4500017001")
        canvas.showPage()
    canvas.save()
    (document,) = PdfParser().parse(buffer.getvalue())
    assert ("pdf-pages-skipped", "only the first 2 of 3 pages were read") in [(p.code, p.message) for p in document.problems]


@pytest.mark.parametrize(("text", "day_first", "expected"), [
    ("03.02.2027", False, date(2027, 2, 3)),
    ("03.02.2027", True, date(2027, 2, 3)),
    ("03/02/2027", False, date(2027, 3, 2)),
    ("03/02/2027", True, date(2027, 2, 3)),
    ("03-02-2027", False, date(2027, 3, 2)),
])
def test_dotted_dates_are_day_first_whatever_the_language(text: str, day_first: bool, expected: date) -> None:
    """GIVEN a numeric date WHEN read month-first or day-first THEN dots always mean day.month; slashes and dashes follow the locale."""
    assert parse_date(text, day_first) == expected


def test_a_dotted_date_is_day_first_evidence_in_an_english_document() -> None:
    """GIVEN an English document writing 03.02.2027 WHEN the date order is detected THEN it is settled day-first."""
    assert detect_day_first(["Delivery: 03.02.2027"], "en") == (True, True)
