"""The e-mail parsers: free text, MIME messages and the CSV/XLSX line tables they carry."""

from __future__ import annotations

import base64
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from parsers.email_message import EmailMessageParser
from parsers.email_text import MAX_TEXT, EmailTextParser, Intent
from parsers.numbers import parse_decimal, parse_numeric_date
from parsers.spreadsheet import SpreadsheetParser
from poguard.domain import DocumentKind, LineStatus, ParsedDocument
from poguard.errors import ParseError
from tests.conftest import CORPUS, FIXTURES
from tests.golden import assert_matches_golden

EMAIL_FIXTURES = FIXTURES / "email"
REFERENCE = date(2026, 11, 24)
TEXT = EmailTextParser(reference_date=REFERENCE)
SHEET = SpreadsheetParser()

# Files of the malformed folder that CPython reads without a defect and that carry nothing for poguard:
# they are read like any other mail (no document), since nothing shows the damage to a reader.
READABLE_DESPITE_FOLDER = {
    "cpython__msg_22.txt": "funky but legal Content-Type continuation lines",
    "cpython__msg_37.txt": "doubled boundaries; CPython drops the empty parts",
    "flanker__bounce-broken-mime.eml": "original message pasted as text: a valid text/plain bounce",
    "flanker__bounce-delayed-broken.eml": "a bare delivery-status body, valid MIME",
    "flanker__dashed-boundaries.eml": "a boundary ending in dashes is legal",
    "flanker__missing-boundaries.eml": "header-like lines inside a valid text/plain body",
    "flanker__no-ctype.eml": "no Content-Type: RFC 2045 defaults to text/plain",
    "flanker__spam-broken-headers.eml": "garbled subject bytes, structure intact",
    "flanker__torture-part.eml": "deep but valid nesting",
}


def sheet_attachments(raw: bytes) -> list[ParsedDocument]:
    """A stand-in for the registry's `parse`: spreadsheets only, anything else unrecognised."""
    if SHEET.sniff(raw) < 0.5:
        raise ParseError("no parser recognises this content", code="format-unrecognised")
    return SHEET.parse(raw)


MESSAGE = EmailMessageParser(sheet_attachments, TEXT)


def parse_fixture(path: Path) -> list[ParsedDocument]:
    parser = MESSAGE if path.suffix == ".eml" else TEXT
    return parser.parse(path.read_bytes())


def only_document(text: str) -> ParsedDocument:
    documents = TEXT.parse_text(text)
    assert len(documents) == 1
    return documents[0]


FIXTURE_FILES = sorted(p for p in EMAIL_FIXTURES.iterdir() if p.suffix in (".eml", ".txt"))


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_parses_as_its_golden_file_says(fixture: Path) -> None:
    """GIVEN a supplier mail fixture WHEN it is parsed THEN the documents equal its reviewed golden file."""
    assert_matches_golden(fixture, parse_fixture(fixture))


def test_glf_partial_reads_the_short_line_and_leaves_january_unguessed() -> None:
    """GIVEN GLF's "line 2 only 650 pcs by 12/18, balance in January" WHEN parsed THEN line 2 is changed,
    dated 2026-12-18 with confidence below 1, and January is a problem, not a date."""
    (document,) = parse_fixture(EMAIL_FIXTURES / "glf_partial_4500017004.eml")
    first, second = document.lines
    assert (document.kind, document.po_number, document.sender) == (
        DocumentKind.ACKNOWLEDGMENT, "4500-017004", "orders@glfastener.com")
    assert first.status == LineStatus.ACCEPTED
    assert (second.status, second.quantity, second.delivery_date) == (LineStatus.CHANGED, Decimal(650),
                                                                      date(2026, 12, 18))
    assert second.provenance["delivery_date"].confidence < 1
    assert [p.code for p in document.problems] == ["email-vague-date"]


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.name)
def test_each_fixture_is_claimed_by_its_own_parser_only(fixture: Path) -> None:
    """GIVEN a fixture WHEN every e-mail parser sniffs it THEN only the parser for its format claims it."""
    raw = fixture.read_bytes()
    mime, text = MESSAGE.sniff(raw), TEXT.sniff(raw)
    if fixture.suffix == ".eml":
        assert (mime, text) == (0.9, 0.0)
    else:
        assert mime == 0.0 and text >= 0.6
    assert SHEET.sniff(raw) == 0.0


@pytest.mark.parametrize("sample", [
    "edifact/ORDRSP", "x12/855", "pdf/invoices",
])
def test_edi_and_pdf_samples_are_claimed_by_no_email_parser(sample: str) -> None:
    """GIVEN EDIFACT, X12 and PDF corpus files WHEN the e-mail parsers sniff them THEN all say 0.0."""
    files = [p for p in (CORPUS / sample).iterdir() if p.suffix.lower() not in (".json", ".xml")][:5]
    for path in files:
        raw = path.read_bytes()
        assert (MESSAGE.sniff(raw), TEXT.sniff(raw), SHEET.sniff(raw)) == (0.0, 0.0, 0.0), path.name


def test_text_without_a_po_reference_is_not_claimed_and_gives_no_document() -> None:
    """GIVEN a chat message naming no PO WHEN sniffed and parsed THEN the score is 0 and nothing is read."""
    raw = b"Hi Anna, lunch on Friday? Line 2 of the menu looks great, 12 pcs of sushi."
    assert TEXT.sniff(raw) == 0.0
    assert TEXT.parse(raw) == []


INTENT_TABLE = [
    ("We confirm your PO 4500017001 as ordered.", Intent.CONFIRM, None),
    ("PO# 4500-017004: all lines confirmed, no changes.", Intent.CONFIRM, None),
    ("Thanks for PO 4500017001. Line 3 is discontinued, we cannot supply it.", Intent.REJECT, LineStatus.REJECTED),
    ("PO 4500017001 has shipped today, tracking number 1Z999AA10123456784.", Intent.SHIPPED, None),
    ("Order 4500017001: we need to change the delivery date of line 1 to 02/05/2027.", Intent.CHANGE,
     LineStatus.CHANGED),
    ("Wir bestätigen Ihre Bestellung Nr. 4500017002 ohne Änderungen.", Intent.CONFIRM, None),
    ("Zu Bestellung 4500017002: Position 2 ist leider nicht lieferbar.", Intent.REJECT, LineStatus.REJECTED),
    ("Bestellung 4500017002, Pos. 1 können wir nur 300 kg liefern.", Intent.PARTIAL, LineStatus.CHANGED),
    ("Bestellung 4500017002: Position 1 wurde heute versandt.", Intent.SHIPPED, LineStatus.UNKNOWN),
    ("Nous confirmons votre commande n° 4500017003 sans modification.", Intent.CONFIRM, None),
    ("Commande n° 4500017003 : la ligne 2 est en rupture, nous ne pouvons pas livrer.", Intent.REJECT,
     LineStatus.REJECTED),
    ("Commande 4500017003 : nouvelle date de livraison pour la ligne 1 : 05/02/2027.", Intent.CHANGE,
     LineStatus.CHANGED),
    ("Confirmamos su pedido 4500017003 sin cambios.", Intent.CONFIRM, None),
    ("Pedido 4500017003: línea 1 solo 150 unidades.", Intent.PARTIAL, LineStatus.CHANGED),
    ("Pedido 4500017003: la línea 2 fue enviada hoy.", Intent.SHIPPED, LineStatus.UNKNOWN),
    ("Hello, our invoice for PO 4500017001 follows by post.", Intent.OTHER, None),
]
_KIND_OF = {Intent.CONFIRM: DocumentKind.ACKNOWLEDGMENT, Intent.PARTIAL: DocumentKind.ACKNOWLEDGMENT,
            Intent.REJECT: DocumentKind.ACKNOWLEDGMENT, Intent.CHANGE: DocumentKind.CHANGE_REQUEST,
            Intent.SHIPPED: DocumentKind.SHIP_NOTICE, Intent.OTHER: DocumentKind.UNKNOWN}


@pytest.mark.parametrize(("sentence", "intent", "line_status"), INTENT_TABLE, ids=[row[0][:40] for row in INTENT_TABLE])
def test_sentence_intent_sets_document_kind_and_line_status(sentence: str, intent: Intent,
                                                           line_status: LineStatus | None) -> None:
    """GIVEN one supplier sentence WHEN parsed THEN the kind follows its intent and a named line its status."""
    document = only_document(sentence)
    assert document.kind == _KIND_OF[intent]
    assert [line.status for line in document.lines] == ([] if line_status is None else [line_status])
    assert ("intent" in document.provenance) == (intent != Intent.OTHER)


@pytest.mark.parametrize("sentence", [
    "We confirm PO 4500017001, line 1 and line 2 are fine, thank you.",
    "Wir bestätigen die Bestellung 4500017002, Position 1 und 2 wie bestellt.",
    "Nous confirmons la commande 4500017003, ligne 1 d'accord.",
    "Confirmamos el pedido 4500017003, línea 1 conforme.",
])
def test_clean_confirmation_invents_no_change_or_rejection(sentence: str) -> None:
    """GIVEN a clean confirmation WHEN parsed THEN every line is accepted and no problem is recorded."""
    document = only_document(sentence)
    assert document.kind == DocumentKind.ACKNOWLEDGMENT
    assert document.lines and all(line.status == LineStatus.ACCEPTED for line in document.lines)
    assert document.problems == []


def test_quoted_history_and_signature_are_not_read() -> None:
    """GIVEN a reply whose quantities sit only in the quote and the signature WHEN parsed THEN none is read."""
    text = ("Confirmed, PO 4500017001 line 1 is fine.\n\nBest regards,\nMike\nCell 555 0100 pcs\n\n"
            "-----Original Message-----\nFrom: Anna\nSent: Monday\nTo: Mike\nSubject: PO\n\nLine 1: 999 pcs\n")
    quoted = "Line 1 ok for PO 4500017001.\n\nVon: Anna\nGesendet: Montag\nAn: Mike\nBetreff: PO\n\n> Line 1 777 pcs"
    for body in (text, quoted):
        (line,) = only_document(body).lines
        assert line.quantity is None and line.status == LineStatus.ACCEPTED


def test_html_body_is_read_as_text_without_its_quoted_blockquote() -> None:
    """GIVEN an HTML body with a quoted blockquote WHEN parsed THEN the text is read and the quote is not."""
    html = ("<html><body><p>Hiermit best&auml;tigen wir Ihre Bestellung 4500017002.</p>"
            "<p><b>Position 1:</b> 480 kg, Liefertermin 12.02.2027</p>"
            "<blockquote>Position 2: 999 kg</blockquote></body></html>")
    (line,) = only_document(html).lines
    assert (line.line, line.quantity, line.delivery_date) == ("1", Decimal(480), date(2027, 2, 12))


@pytest.mark.parametrize(("text", "po_number"), [
    ("PO# 4500-017004 confirmed.", "4500-017004"),
    ("Bestellung Nr. 4500017002 bestätigt.", "4500017002"),
    ("Nous confirmons la commande n° 4500017003.", "4500017003"),
    ("Confirmamos el pedido n.º 4500017003.", "4500017003"),
    ("Your purchase order number 4500017001 is confirmed.", "4500017001"),
])
def test_po_reference_forms_are_read_as_written(text: str, po_number: str) -> None:
    """GIVEN a PO reference in one of its written forms WHEN parsed THEN the number is kept as written."""
    assert only_document(text).po_number == po_number


@pytest.mark.parametrize(("text", "decimal_comma", "expected"), [
    ("1,234.56", None, "1234.56"), ("1.234,56", None, "1234.56"), ("1 234,56", None, "1234.56"),
    ("1\u202f234,56", None, "1234.56"), ("3,5", None, "3.5"), ("1,234", None, "1234"), ("1,234", True, "1.234"),
    ("0.21", None, "0.21"), ("12a", None, None),
])
def test_numbers_are_read_in_every_notation(text: str, decimal_comma: bool | None, expected: str | None) -> None:
    """GIVEN a number in some notation WHEN read THEN the Decimal is right, or None when it is no number."""
    assert parse_decimal(text, decimal_comma=decimal_comma) == (None if expected is None else Decimal(expected))


def test_year_less_date_is_the_next_occurrence_with_lower_confidence() -> None:
    """GIVEN 12/18 and 03/01 written in November 2026 WHEN read month-first THEN they fall after the reference."""
    assert parse_numeric_date("12/18", day_first=False, reference=REFERENCE) == (date(2026, 12, 18), 0.8)
    read = parse_numeric_date("03/01", day_first=False, reference=REFERENCE)
    assert read is not None and read[0] == date(2027, 3, 1) and read[1] < 0.8


def test_english_text_with_day_first_evidence_reads_dates_day_first() -> None:
    """GIVEN English text holding 25/01/2027 WHEN parsed THEN 05/02/2027 in it is read as 5 February."""
    document = only_document("PO 4500017001: line 1 by 25/01/2027, line 2 by 05/02/2027, both confirmed.")
    assert [line.delivery_date for line in document.lines] == [date(2027, 1, 25), date(2027, 2, 5)]


def test_item_words_without_a_line_number_go_into_the_description() -> None:
    """GIVEN "the M10 nuts ... 650 pcs" WHEN parsed THEN a line carries those words for the matcher."""
    (line,) = only_document("PO 4500-017004: the M10 hex nuts we can only do 650 pcs.").lines
    assert line.line is None and line.description is not None and "nuts" in line.description
    assert line.other_ids == ("M10",) and line.quantity == Decimal(650)


def test_csv_attachment_becomes_a_document_with_the_bodys_intent() -> None:
    """GIVEN ACB's mail "we confirm" with a CSV WHEN parsed THEN one acknowledgment holds both CSV lines."""
    (document,) = parse_fixture(EMAIL_FIXTURES / "acb_confirm_with_csv.eml")
    assert (document.kind, document.parser, len(document.lines)) == (DocumentKind.ACKNOWLEDGMENT, "spreadsheet", 2)
    assert document.provenance["origin"].source.endswith("attachment ack_4500017003.csv")
    assert document.sender == "sales@acmebearings.co.uk"


def _with_attachment(name: str, payload: bytes, body: str) -> bytes:
    encoded = base64.encodebytes(payload).decode()
    return (f"From: Sales <sales@acmebearings.co.uk>\nMessage-ID: <t1@acb>\nSubject: PO 4500017003\n"
            f"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\n"
            f"{body}\n--XX\nContent-Type: application/octet-stream\nContent-Disposition: attachment; "
            f"filename=\"{name}\"\nContent-Transfer-Encoding: base64\n\n{encoded}\n--XX--\n").encode()


def test_unreadable_attachment_is_a_problem_and_the_body_is_still_read() -> None:
    """GIVEN a mail whose CSV has no known columns WHEN parsed THEN the body's document carries the problem."""
    raw = _with_attachment("ack.csv", b"foo;bar;baz\n1;2;3\n", "Line 1 for PO 4500017003 is confirmed.")
    (document,) = EmailMessageParser(SHEET.parse, TEXT).parse(raw)
    assert document.parser == "email_text"
    assert [(p.code, p.location) for p in document.problems] == [("spreadsheet-no-columns",
                                                                   "attachment ack.csv, rows 1-10")]


def test_xlsx_table_with_german_headers_is_read() -> None:
    """GIVEN an XLSX sheet with German column names WHEN sniffed and parsed THEN its lines are read."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Bestellnummer", "Pos", "Artikel", "Menge", "Einheit", "Einzelpreis", "Währung", "Liefertermin"])
    sheet.append([4500017002, 1, "PLA-PA66-GF30", 500, "kg", 3.85, "EUR", date(2027, 2, 1)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    raw = buffer.getvalue()
    (document,) = SHEET.parse(raw)
    (line,) = document.lines
    assert SHEET.sniff(raw) == 0.9 and TEXT.sniff(raw) == 0.0 and MESSAGE.sniff(raw) == 0.0
    assert (document.po_number, document.currency) == ("4500017002", "EUR")
    assert (line.line, line.quantity, line.unit_price, line.delivery_date) == (
        "1", Decimal(500), Decimal("3.85"), date(2027, 2, 1))


def test_table_without_known_columns_is_rejected_with_its_code() -> None:
    """GIVEN a CSV whose header names nothing known WHEN parsed THEN ParseError spreadsheet-no-columns."""
    with pytest.raises(ParseError) as caught:
        SHEET.parse(b"alpha,beta,gamma\n1,2,3\n")
    assert caught.value.code == "spreadsheet-no-columns"


CORPUS_MAILS = sorted([*(CORPUS / "email").glob("*.eml"), *(CORPUS / "email").glob("*.txt")])


@pytest.mark.parametrize("path", CORPUS_MAILS, ids=lambda p: p.name)
def test_corpus_message_is_read_without_exception_and_invents_no_po(path: Path) -> None:
    """GIVEN a public, non-supplier mail WHEN parsed THEN no exception and any PO read is in the bytes."""
    raw = path.read_bytes()
    assert MESSAGE.sniff(raw) == 0.9
    for document in MESSAGE.parse(raw):
        assert document.po_number is not None and document.po_number.encode() in raw


@pytest.mark.parametrize("path", sorted((CORPUS / "email" / "malformed").iterdir()), ids=lambda p: p.name)
def test_malformed_message_gives_problems_or_email_malformed(path: Path) -> None:
    """GIVEN a malformed mail WHEN parsed THEN documents carry problems or ParseError(email-malformed) is raised,
    except for the files CPython reads cleanly, which are read like any mail."""
    try:
        documents = MESSAGE.parse(path.read_bytes())
    except ParseError as error:
        assert error.code == "email-malformed" and error.location
        assert path.name not in READABLE_DESPITE_FOLDER
        return
    assert path.name in READABLE_DESPITE_FOLDER or all(document.problems for document in documents)
    assert documents == [] or all(document.problems for document in documents)


FIXTURE_BODIES = [p.read_text(encoding="utf-8") for p in FIXTURE_FILES if p.suffix == ".txt"]


@st.composite
def mutated_bodies(draw: st.DrawFn) -> str:
    body = draw(st.sampled_from(FIXTURE_BODIES))
    start = draw(st.integers(0, len(body)))
    end = draw(st.integers(start, min(len(body), start + 40)))
    return body[:start] + draw(st.text(max_size=30)) + body[end:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), mutated_bodies()))
def test_random_and_mutated_text_never_raises_anything_but_parse_error(text: str) -> None:
    """GIVEN random or mutated text WHEN both parsers read it THEN nothing but ParseError escapes."""
    for parser in (TEXT, MESSAGE):
        raw = text.encode("utf-8", errors="surrogatepass")
        parser.sniff(raw)
        try:
            parser.parse(raw)
        except ParseError:
            pass


def test_a_body_beyond_the_text_limit_is_reported_as_a_problem() -> None:
    """GIVEN a confirmation longer than the text limit WHEN parsed THEN the cut is a problem, not a silent loss."""
    body = "We confirm PO 4500017001.\n" + "Line 1 is fine.\n" * (MAX_TEXT // 10)
    (document,) = EmailTextParser(reference_date=date(2026, 11, 24)).parse(body.encode())
    assert "email-text-truncated" in [p.code for p in document.problems]


def test_a_dotted_date_in_an_english_mail_is_day_first() -> None:
    """GIVEN an English mail writing 03.02.2027 WHEN its date is read THEN it is February 3, not March 2."""
    assert parse_numeric_date("03.02.2027", day_first=False, reference=date(2026, 11, 25))[0] == date(2027, 2, 3)
