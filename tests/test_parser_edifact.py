"""The EDIFACT parser against our fixtures (golden files), the public corpus, and damaged input."""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import parsers
from parsers.edifact import EdifactParser, parse_edifact_date
from poguard.domain import DocumentKind, LineStatus, ParsedDocument
from poguard.errors import ParseError
from tests.golden import assert_matches_golden

REPO = Path(__file__).resolve().parents[1]
FIXTURES = sorted((REPO / "fixtures" / "edifact").glob("*.edi"))
CORPUS = REPO.parent / "shared" / "corpus"
EDIFACT_CORPUS = CORPUS / "edifact"
KIND_BY_FOLDER = {
    "ORDRSP": DocumentKind.ACKNOWLEDGMENT,
    "DESADV": DocumentKind.SHIP_NOTICE,
    "INVOIC": DocumentKind.INVOICE,
}
PARSER = EdifactParser()


def _parse(text: str) -> list[ParsedDocument]:
    return PARSER.parse(text.encode("utf-8"))


def _ordrsp(
    lines: str,
    bgm: str = "BGM+231+R1+9'",
    una: str = "UNA:+.? '",
    message_type: str = "ORDRSP",
    reference: str = "RFF+ON:4500017001'",
) -> str:
    """A one-message interchange around `lines`, with a correct UNT count (UNB is segment 1, LIN segment 6)."""
    body = f"UNH+1+{message_type}:D:96A:UN:EAN005'{bgm}DTM+137:20270101:102'{reference}{lines}UNS+S'"
    count = body.count("'") - body.count("?'") + 1
    return f"{una}UNB+UNOC:3+5412345000013:14+4098765000009:14+270101:0900+1'{body}UNT+{count}+1'UNZ+1+1'"


def _baseline() -> dict[str, list[str]]:
    """Message types per corpus file, as the collector's tokenizer saw them."""
    rows = csv.reader(
        (line for line in (CORPUS / "edi_parse_baseline.tsv").read_text().splitlines() if not line.startswith("#")),
        delimiter="\t",
    )
    return {row[0]: [m.split()[0] for m in row[3].split("; ")] for row in rows if row[1] == "EDIFACT"}


BASELINE = _baseline()
READABLE = sorted(p for folder in KIND_BY_FOLDER for p in (EDIFACT_CORPUS / folder).iterdir())
ORDERS = sorted((EDIFACT_CORPUS / "ORDERS").iterdir())
MALFORMED = sorted((EDIFACT_CORPUS / "malformed").iterdir())


# ------------------------------------------------------------------------------------------- fixtures


def test_module_exports_exist():
    """GIVEN parsers.edifact WHEN its __all__ is read THEN every exported name exists."""
    import parsers.edifact as module

    assert all(hasattr(module, name) for name in module.__all__)


def test_the_fixtures_are_there():
    """GIVEN fixtures/edifact WHEN listed THEN the eight fixture files are found."""
    assert len(FIXTURES) == 8


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_fixture_parses_as_its_golden_file_says(fixture: Path):
    """GIVEN a fixture and its golden file WHEN parsed THEN the documents equal the golden JSON."""
    assert_matches_golden(fixture, PARSER.parse(fixture.read_bytes()))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_fixture_is_claimed_by_sniff_and_by_the_registry(fixture: Path):
    """GIVEN a fixture WHEN sniffed THEN the EDIFACT parser claims it and the registry chooses it."""
    raw = fixture.read_bytes()
    assert PARSER.sniff(raw) >= 0.9
    assert parsers.choose_parser(raw).name == "edifact"


@pytest.mark.parametrize(
    "raw",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *270101*0900*U*00401*000000001*0*P*>~",
        b"From: orders@glfastener.com\r\nTo: anna.buyer@example-mfg.com\r\nSubject: PO 4500017001\r\n\r\nconfirmed",
        b"Dear Anna, we confirm your order 4500017001. Kind regards",
        b"",
    ],
    ids=["pdf", "x12", "email", "plain-text", "empty"],
)
def test_sniff_does_not_claim_other_formats(raw: bytes):
    """GIVEN a PDF, X12, e-mail, plain text or nothing WHEN sniffed THEN the score stays below 0.5."""
    assert PARSER.sniff(raw) < 0.5


def test_glf_acknowledgment_carries_the_planted_deviations():
    """GIVEN the GLF ORDRSP WHEN parsed THEN line 1 costs 0.13, line 3 confirms 9000 PCE, dates are 2027-01-15."""
    (doc,) = PARSER.parse((REPO / "fixtures/edifact/ordrsp_glf_4500017001.edi").read_bytes())
    assert (doc.kind, doc.po_number, doc.currency, doc.sender) == (
        DocumentKind.ACKNOWLEDGMENT, "4500017001", "USD", "5412345000013",
    )
    assert [line.unit_price for line in doc.lines] == [Decimal("0.13"), Decimal("0.04"), Decimal("0.015")]
    assert [(line.quantity, line.uom) for line in doc.lines][2] == (Decimal("9000"), "PCE")
    assert {line.delivery_date for line in doc.lines} == {date(2027, 1, 15)}
    assert [(line.item, line.supplier_item, line.po_line) for line in doc.lines][0] == ("FAS-M8-40", "GLF-HX-840", "1")
    assert doc.problems == []


# ------------------------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_corpus_file_parses_into_documents_of_its_folder_kind(path: Path):
    """GIVEN a corpus ORDRSP/DESADV/INVOIC file WHEN parsed THEN each supported message gives a document of its kind."""
    docs = PARSER.parse(path.read_bytes())
    expected_messages = BASELINE[f"edifact/{path.parent.name}/{path.name}"].count(path.parent.name)
    assert len(docs) == expected_messages
    assert {doc.kind for doc in docs} == {KIND_BY_FOLDER[path.parent.name]}
    assert all(doc.parser == "edifact" for doc in docs)


@pytest.mark.parametrize("path", ORDERS, ids=lambda p: p.name)
def test_corpus_purchase_orders_are_refused_as_unsupported(path: Path):
    """GIVEN a corpus file holding only ORDERS WHEN parsed THEN edifact-no-supported-message is raised at its UNH."""
    with pytest.raises(ParseError) as caught:
        PARSER.parse(path.read_bytes())
    assert caught.value.code == "edifact-no-supported-message"
    assert caught.value.location and caught.value.location.startswith("segment")


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.name)
def test_malformed_corpus_file_gives_a_located_error_or_documents_with_problems(path: Path):
    """GIVEN a deliberately broken file WHEN parsed THEN a located ParseError or a document with a problem results."""
    try:
        docs = PARSER.parse(path.read_bytes())
    except ParseError as error:
        assert error.code and error.location
        return
    assert docs and any(doc.problems for doc in docs)


def test_edinet_order_response_names_its_order_and_reports_the_wrong_unt_count():
    """GIVEN edinet's ORDRSP (UNT says 17) WHEN parsed THEN RFF+ON 00001672 is read and the count is a problem."""
    (doc,) = PARSER.parse((EDIFACT_CORPUS / "ORDRSP/edinet__edifact.ORDRSP.edi").read_bytes())
    assert doc.po_number == "00001672"
    assert doc.lines[0].quantity == Decimal("1") and doc.lines[0].uom == "PCS"
    assert doc.lines[0].unit_price == Decimal("50.5")
    assert "edifact-unt-count-mismatch" in {p.code for p in doc.problems}


def test_koha_order_response_reads_line_references_and_ordered_quantities():
    """GIVEN koha ordrsp1 WHEN parsed THEN each LIN has its RFF+LI, QTY+21, ISBN and action code."""
    (doc,) = PARSER.parse((EDIFACT_CORPUS / "ORDRSP/koha__ordrsp1.CEA").read_bytes())
    assert [line.po_line for line in doc.lines] == ["P28837", "P28838", "P28846"]
    assert [line.quantity for line in doc.lines] == [Decimal(2), Decimal(1), Decimal(1)]
    assert doc.lines[0].other_ids == ("0316907235",)
    assert [line.status for line in doc.lines] == [LineStatus.CHANGED, LineStatus.REJECTED, LineStatus.CHANGED]


def test_curly_quote_terminators_are_read_as_segment_ends():
    """GIVEN koha ordrsp3 with U+2019 as two terminators WHEN parsed THEN both lines and their references are read."""
    (doc,) = PARSER.parse((EDIFACT_CORPUS / "ORDRSP/koha__ordrsp3_curly_quote.CEA").read_bytes())
    assert [(line.line, line.quantity, line.po_line) for line in doc.lines] == [
        ("1", Decimal(3), "0190045"),
        ("2", Decimal(1), "0190056"),
    ]
    codes = {p.code for p in doc.problems}
    assert "edifact-curly-quote-terminator" in codes
    assert "edifact-unt-count-mismatch" not in codes


def test_hard_wrapped_invoice_reads_like_the_unwrapped_one():
    """GIVEN staedi's invoice hard-wrapped at 50 columns WHEN parsed THEN it equals the unwrapped invoice."""
    wrapped = PARSER.parse((EDIFACT_CORPUS / "INVOIC/staedi__wrapped_invoic_d97b.edi").read_bytes())
    plain = PARSER.parse((EDIFACT_CORPUS / "INVOIC/staedi__invoic_d97b.edi").read_bytes())
    assert [(d.number, d.total, [(l.item, l.quantity, l.unit_price) for l in d.lines]) for d in wrapped] == [
        (
            "342459",
            Decimal("2137.58"),
            [("157870", Decimal(1020), Decimal("1.179")), ("157871", Decimal(20), Decimal("20.5"))],
        )
    ]
    assert [d.lines for d in wrapped] == [d.lines for d in plain]


def test_non_default_separators_and_cr_only_files_read_like_the_plain_file():
    """GIVEN the edifabric invoice with pipes, with CR only, and plain WHEN parsed THEN all give the same lines."""
    names = ["Edifact_INVOIC_D00A.edi", "INVOIC_D00A_NonDefaultSeparators.edi", "INVOIC_D00A_CR_only.edi"]
    docs = [PARSER.parse((EDIFACT_CORPUS / "INVOIC" / f"edifabric__{name}").read_bytes())[0] for name in names]
    assert {(d.number, d.total, d.lines[0].item, d.lines[0].supplier_item, d.lines[0].quantity) for d in docs} == {
        ("12345678", Decimal("116.00"), "7505", "2231", Decimal(100)),
    }


def test_two_interchanges_in_one_file_give_both_senders():
    """GIVEN koha's file with two UNA/UNB interchanges and doubled terminators WHEN parsed THEN both are read."""
    docs = PARSER.parse((EDIFACT_CORPUS / "INVOIC/koha__INVOICE_two_interchanges.CEI").read_bytes())
    assert [(d.number, d.sender) for d in docs] == [("INV00003", "5013546027173"), ("INV00002", "9999999999999")]
    assert "interchange 2" in docs[1].provenance["number"].source


# ------------------------------------------------------------------------------------------- specific behaviour


def test_comma_decimal_mark_from_una_is_read():
    """GIVEN UNA:+,? ' and PRI+AAA:3,85 WHEN parsed THEN the price is Decimal 3.85."""
    (doc,) = _parse(_ordrsp("LIN+1+5'QTY+21:12,5:KGM'PRI+AAA:3,85'", una="UNA:+,? '"))
    assert (doc.lines[0].quantity, doc.lines[0].unit_price) == (Decimal("12.5"), Decimal("3.85"))


def test_release_character_keeps_separators_inside_text():
    """GIVEN an IMD with ?: ?+ ?' and ?? WHEN parsed THEN the description holds the literal characters."""
    (doc,) = _parse(_ordrsp("LIN+1+5'IMD+F++:::Bolt?: M8?+nut ?'A?' 50?? off'QTY+21:1'"))
    assert doc.lines[0].description == "Bolt: M8+nut 'A' 50? off"


def test_price_basis_quantity_divides_the_price():
    """GIVEN PRI+AAA:1.50:::100:PCE WHEN parsed THEN the unit price is 0.015."""
    (doc,) = _parse(_ordrsp("LIN+1+5'QTY+21:10000:PCE'PRI+AAA:1.50:::100:PCE'"))
    assert doc.lines[0].unit_price == Decimal("0.015")


def test_net_price_is_preferred_over_gross_price():
    """GIVEN PRI+AAB before PRI+AAA on a line WHEN parsed THEN the AAA net price is taken."""
    (doc,) = _parse(_ordrsp("LIN+1+5'QTY+21:1'PRI+AAB:12.99'PRI+AAA:9.99'"))
    assert doc.lines[0].unit_price == Decimal("9.99")


def test_unt_count_mismatch_is_a_problem_not_an_error():
    """GIVEN a UNT that says 99 segments WHEN parsed THEN the document is returned with edifact-unt-count-mismatch."""
    (doc,) = _parse(re.sub(r"UNT\+\d+", "UNT+99", _ordrsp("LIN+1+5'QTY+21:1'")))
    assert [p.code for p in doc.problems] == ["edifact-unt-count-mismatch"]
    assert doc.problems[0].location == "segment 9"
    assert doc.lines[0].quantity == Decimal(1)


@pytest.mark.parametrize(
    ("action", "function", "expected"),
    [
        ("1", "9", LineStatus.ADDED),
        ("2", "9", LineStatus.REJECTED),
        ("3", "9", LineStatus.CHANGED),
        ("5", "9", LineStatus.ACCEPTED),
        ("6", "9", LineStatus.CHANGED),
        ("7", "9", LineStatus.REJECTED),
        ("4", "9", LineStatus.UNKNOWN),
        ("10", "9", LineStatus.UNKNOWN),
        ("", "9", LineStatus.UNKNOWN),
        ("", "27", LineStatus.REJECTED),
        ("", "29", LineStatus.ACCEPTED),
        ("4", "4", LineStatus.CHANGED),
        ("5", "27", LineStatus.ACCEPTED),
        ("7", "29", LineStatus.REJECTED),
    ],
)
def test_line_status_follows_lin_action_then_bgm_function(action: str, function: str, expected: LineStatus):
    """GIVEN a LIN action code and a BGM message function WHEN parsed THEN the line status follows the table."""
    (doc,) = _parse(_ordrsp(f"LIN+1+{action}'QTY+21:1'", bgm=f"BGM+231+R1+{function}'"))
    assert doc.lines[0].status is expected


def test_header_delivery_date_fills_lines_without_one_with_lower_confidence():
    """GIVEN a header DTM+2 and a line without DTM WHEN parsed THEN the line takes the header date, confidence 0.7."""
    (doc,) = _parse(_ordrsp("DTM+2:20270301:102'LIN+1+5'QTY+21:1'LIN+2+5'QTY+21:1'DTM+2:20270305:102'"))
    assert [line.delivery_date for line in doc.lines] == [date(2027, 3, 1), date(2027, 3, 5)]
    assert doc.lines[0].provenance["delivery_date"].confidence == 0.7
    assert "header" in doc.lines[0].provenance["delivery_date"].source
    assert doc.lines[1].provenance["delivery_date"].confidence == 1.0


def test_ship_notice_takes_estimated_delivery_from_the_header():
    """GIVEN our DESADV with DTM+17 only in the header WHEN parsed THEN every line is due 2027-01-14."""
    (doc,) = PARSER.parse((REPO / "fixtures/edifact/desadv_glf_4500017001.edi").read_bytes())
    assert {line.delivery_date for line in doc.lines} == {date(2027, 1, 14)}
    assert [line.po_line for line in doc.lines] == ["1", "2", "3"]


def test_unparseable_date_stays_unknown_with_a_problem():
    """GIVEN DTM+2:20271345:102 on a line WHEN parsed THEN the delivery date is None and edifact-bad-date is noted."""
    (doc,) = _parse(_ordrsp("LIN+1+5'QTY+21:1'DTM+2:20271345:102'"))
    assert doc.lines[0].delivery_date is None
    assert "edifact-bad-date" in {p.code for p in doc.problems}


def test_bad_number_stays_unknown_with_a_problem():
    """GIVEN QTY+21:12A WHEN parsed THEN the quantity is None and edifact-bad-number names the segment."""
    (doc,) = _parse(_ordrsp("LIN+1+5'QTY+21:12A:PCE'"))
    assert doc.lines[0].quantity is None
    assert [(p.code, p.location) for p in doc.problems] == [("edifact-bad-number", "segment 7")]


def test_invoice_takes_the_order_number_from_its_lines_when_the_header_lacks_it():
    """GIVEN an INVOIC with RFF+ON only on the line WHEN parsed THEN po_number comes from the line, confidence 0.7."""
    (doc,) = _parse(_ordrsp("LIN+1++A1:IN'QTY+47:2'RFF+ON:4500017009:1'", message_type="INVOIC", reference=""))
    assert (doc.kind, doc.po_number, doc.lines[0].po_line) == (DocumentKind.INVOICE, "4500017009", "1")
    assert doc.provenance["po_number"].confidence == 0.7


def test_unsupported_message_next_to_a_supported_one_is_skipped():
    """GIVEN an interchange with an ORDERS and an ORDRSP WHEN parsed THEN only the acknowledgment is returned."""
    text = _ordrsp("LIN+1+5'QTY+21:1'")
    orders = "UNH+9+ORDERS:D:96A:UN'BGM+220+X'UNT+3+9'"
    (doc,) = _parse(text.replace("UNZ+1+1'", f"{orders}UNZ+2+1'"))
    assert doc.kind is DocumentKind.ACKNOWLEDGMENT


def test_message_without_unt_is_named_on_the_readable_documents():
    """GIVEN a good ORDRSP followed by one cut off before UNT WHEN parsed THEN the good one carries the problem."""
    text = _ordrsp("LIN+1+5'QTY+21:1'").replace("UNZ+1+1'", "UNH+2+ORDRSP:D:96A:UN'BGM+231+R2+9'LIN+1+5'")
    (doc,) = _parse(text)
    assert doc.number == "R1"
    assert [(p.code, p.location) for p in doc.problems] == [
        ("edifact-unterminated-message", "segment 10"),
        ("edifact-missing-unz", "segment 1"),
    ]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "edifact-no-message"),
        (b"UNB+UNOC:3+1+2+270101:0900+1'UNZ+0+1'", "edifact-no-message"),
        (
            b"UNB+UNOC:3+1+2+270101:0900+1'UNH+1+ORDERS:D:96A:UN'BGM+220+1'UNT+3+1'UNZ+1+1'",
            "edifact-no-supported-message",
        ),
        (b"UNB+UNOC:3+1+2+270101:0900+1'UNH+1+ORDRSP:D:96A:UN'BGM+231+1'", "edifact-unterminated-message"),
        (b"UNB+UNOC:3+1+2+270101:0900+1'UNH+1+ORDRSP:D:96A:UN'bgm+231+1'UNT+3+1'", "edifact-syntax"),
        (b"UNA:::? 'UNB:UNOC:3'", "edifact-bad-una"),
    ],
    ids=["empty", "no-unh", "orders-only", "no-unt", "lowercase-tag", "bad-una"],
)
def test_unreadable_file_raises_a_specific_located_error(raw: bytes, code: str):
    """GIVEN no readable supported message WHEN parsed THEN ParseError has a specific code and a location."""
    with pytest.raises(ParseError) as caught:
        PARSER.parse(raw)
    assert caught.value.code == code
    assert caught.value.location


def test_declared_ascii_with_latin1_bytes_is_read_with_a_charset_problem():
    """GIVEN UNOA with an ISO-8859-1 byte WHEN parsed THEN the text is read as latin-1 and the fallback is noted."""
    raw = _ordrsp("LIN+1+5'IMD+F++:::M\xfcller'QTY+21:1'").replace("UNOC", "UNOA").encode("latin-1")
    (doc,) = PARSER.parse(raw)
    assert doc.lines[0].description == "Müller"
    assert [p.code for p in doc.problems] == ["edifact-charset-fallback"]


def test_bom_crlf_and_indentation_are_ignored():
    """GIVEN a UTF-8 BOM, CRLF and indented segments WHEN parsed THEN the result equals the plain text's."""
    text = _ordrsp("LIN+1+5'QTY+21:1'DTM+2:20270301:102'")
    messy = b"\xef\xbb\xbf" + text.replace("'", "'\r\n    ").encode("utf-8")
    assert PARSER.parse(messy) == _parse(text)


@pytest.mark.parametrize(
    ("value", "code", "expected"),
    [
        ("20270115", "102", date(2027, 1, 15)),
        ("270115", "101", date(2027, 1, 15)),
        ("202701151430", "203", date(2027, 1, 15)),
        ("20270115143000", "204", date(2027, 1, 15)),
        ("20270115-20270120", "718", date(2027, 1, 15)),
    ],
)
def test_edifact_date_formats_are_read(value: str, code: str, expected: date):
    """GIVEN a DTM value and its format code WHEN read THEN the (first) date is returned."""
    assert parse_edifact_date(value, code) == expected


# ------------------------------------------------------------------------------------------- robustness


FIXTURE_BYTES = (REPO / "fixtures/edifact/ordrsp_glf_4500017001.edi").read_bytes()


def _mutate(raw: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    data = bytearray(raw)
    for kind, position, byte in edits:
        if not data:
            break
        at = position % len(data)
        if kind == 0:
            del data[at]
        elif kind == 1:
            data.insert(at, data[at])
        elif kind == 2:
            other = (at + 1) % len(data)
            data[at], data[other] = data[other], data[at]
        else:
            data[at] = byte
    return bytes(data)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 255)), max_size=8).map(
            lambda edits: _mutate(FIXTURE_BYTES, edits)
        ),
    )
)
def test_random_and_mutated_bytes_raise_nothing_but_parse_error(raw: bytes):
    """GIVEN random bytes or a fixture with bytes dropped, doubled, swapped, changed WHEN parsed THEN only ParseError"""
    assert 0.0 <= PARSER.sniff(raw) <= 1.0
    try:
        docs = PARSER.parse(raw)
    except ParseError as error:
        assert error.code
        return
    assert all(doc.parser == "edifact" for doc in docs)
