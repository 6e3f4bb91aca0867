"""The X12 parser: golden fixtures, the public corpus, the delimiter zoo, code tables and robustness."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import choose_parser
from parsers.x12 import ACK_STATUS, X12Parser, find_separators
from poguard.domain import DocumentKind, LineStatus, ParsedDocument
from poguard.errors import ParseError
from tests.golden import assert_matches_golden

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
X12_CORPUS = CORPUS / "x12"
KIND_OF_FOLDER = {
    "855": DocumentKind.ACKNOWLEDGMENT,
    "856": DocumentKind.SHIP_NOTICE,
    "810": DocumentKind.INVOICE,
    "860": DocumentKind.CHANGE_REQUEST,
    "865": DocumentKind.CHANGE_REQUEST,
}
SUPPORTED_FILES = sorted(path for folder in KIND_OF_FOLDER for path in (X12_CORPUS / folder).iterdir())
PURCHASE_ORDER_FILES = sorted((X12_CORPUS / "850").iterdir())

parser = X12Parser()


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.x12"))


def isa(sender: str = "5412345000013", element: str = "*", component: str = ">", version: str = "00401") -> str:
    """A padded ISA with the given separators, without its terminator."""
    repetition = "^" if version >= "00402" else "U"
    fields = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ", "EXAMPLEMFG".ljust(15), "261120",
              "0930", repetition, version, "000000001", "0", "P", component]
    return element.join(fields)


def interchange(body: list[str], element: str = "*", component: str = ">", terminator: str = "~",
                newline: str = "\n", version: str = "00401") -> bytes:
    """An interchange around `body` (segments written with `*`), one group, one transaction set per ST."""
    segments = [isa(element=element, component=component, version=version),
                "GS*PR*5412345000013*EXAMPLEMFG*20261120*0930*1*X*004010", *body, "GE*1*1", "IEA*1*000000001"]
    return "".join(segment.replace("*", element) + terminator + newline for segment in segments).encode()


def acknowledgment(ack: str = "ACK*IA*10*EA", bak02: str = "AC") -> list[str]:
    return [
        "ST*855*0001",
        f"BAK*00*{bak02}*4500017004*20261118****SO-1*20261120",
        "PO1*1*10*EA*0.21*PE*BP*FAS-M10-60*VP*GLF-HX-1060",
        ack,
        "SE*5*0001",
    ]


def invoice(tds: str = "12345", control: str = "0001") -> list[str]:
    return [f"ST*810*{control}", "BIG*20270110*INV-1*20261115*4500017001", "IT1*1*5*EA*0.12", f"TDS*{tds}",
            f"SE*5*{control}"]


def baseline() -> dict[str, list[tuple[str, str]]]:
    """Per corpus file, the (transaction set, version) pairs the corpus collector found."""
    rows = (line for line in (CORPUS / "edi_parse_baseline.tsv").read_text().splitlines() if not line.startswith("#"))
    messages = {row[0]: row[3] for row in csv.reader(rows, delimiter="\t") if row[1] == "X12"}
    return {name: [tuple(m.split()) for m in text.split("; ")] for name, text in messages.items()}


def transaction_sets(documents: list[ParsedDocument]) -> list[str]:
    """The ST segment each document came from, once per transaction set."""
    return list(dict.fromkeys(document.provenance["kind"].source for document in documents))


@pytest.mark.parametrize("fixture", fixture_files(), ids=lambda path: path.name)
def test_fixture_parses_as_its_golden_file_says(fixture: Path) -> None:
    """GIVEN a fixture of ours WHEN it is parsed THEN the documents match its reviewed golden file."""
    assert_matches_golden(fixture, parser.parse(fixture.read_bytes()))


@pytest.mark.parametrize("fixture", fixture_files(), ids=lambda path: path.name)
def test_fixture_is_claimed_by_sniff_and_by_the_registry(fixture: Path) -> None:
    """GIVEN an X12 fixture WHEN sniffed THEN the X12 parser claims it and the registry chooses it."""
    raw = fixture.read_bytes()
    assert parser.sniff(raw) >= 0.9
    assert choose_parser(raw).name == "x12"


@pytest.mark.parametrize(
    "raw",
    [
        b"UNA:+.? 'UNB+UNOC:3+5412345000013:14+4012345000094:14+261120:0930+1'",
        b"UNB+UNOA:2+SENDER+RECEIVER+261120:0930+1'",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"From: orders@glfastener.com\r\nSubject: ISA order 4500017004\r\n\r\nISA*00*",
        b"Dear buyer, we confirm PO 4500017004.",
        b"",
    ],
    ids=["edifact-una", "edifact-unb", "pdf", "email", "plain-text", "empty"],
)
def test_other_content_is_not_claimed_by_sniff(raw: bytes) -> None:
    """GIVEN EDIFACT, a PDF, an e-mail, plain text or nothing WHEN sniffed THEN the X12 parser does not claim it."""
    assert parser.sniff(raw) < 0.5


@pytest.mark.parametrize("path", SUPPORTED_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_corpus_file_yields_documents_of_its_folder_kind(path: Path) -> None:
    """GIVEN a public 855/856/810/860/865 sample WHEN parsed THEN it yields documents of that kind, one or more per
    transaction set, as many sets as the corpus baseline counts."""
    documents = parser.parse(path.read_bytes())
    expected = [pair for pair in baseline()[f"x12/{path.parent.name}/{path.name}"] if pair[0] == path.parent.name]
    assert {document.kind for document in documents} == {KIND_OF_FOLDER[path.parent.name]}
    assert len(transaction_sets(documents)) == len(expected)
    versions = {source.rsplit("version ", 1)[1].rstrip(")") for source in transaction_sets(documents)}
    assert versions == {version for _, version in expected}
    assert all(document.parser == "x12" for document in documents)


@pytest.mark.parametrize("path", PURCHASE_ORDER_FILES, ids=lambda path: path.name)
def test_purchase_order_file_raises_no_supported_transaction(path: Path) -> None:
    """GIVEN a public 850 purchase order WHEN parsed THEN a ParseError says no supported transaction set is there."""
    with pytest.raises(ParseError) as raised:
        parser.parse(path.read_bytes())
    assert raised.value.code == "x12-no-supported-transaction"
    assert "850" in raised.value.message


def corpus(relative: str) -> list[ParsedDocument]:
    return parser.parse((X12_CORPUS / relative).read_bytes())


def test_node_x12_855_has_the_po_number_quantities_and_statuses_written_in_it() -> None:
    """GIVEN node-x12's 855 WHEN parsed THEN BAK03, PO1 quantities and prices and ACK statuses are read."""
    (document,) = corpus("855/node-x12__855.edi")
    assert (document.po_number, document.currency, document.sender) == ("POTEST1112", "USD", "1556150")
    first, second = document.lines[:2]
    assert (first.quantity, first.uom, first.unit_price) == (Decimal("3"), "UN", Decimal("4.5"))
    assert first.status is LineStatus.ACCEPTED
    assert first.description == "DIC WEBSTERS NEW WORLD"
    assert "9780446360265" in first.other_ids
    assert (second.quantity, second.status) == (Decimal("0"), LineStatus.REJECTED)


def test_855_without_line_acks_takes_the_bak02_status_and_header_date() -> None:
    """GIVEN the Simmons 855 (BAK*00*AD, no ACK, header DTM*017) WHEN parsed THEN lines are accepted and dated with
    a lower confidence, and BAK08 is the document number."""
    first = corpus("855/oopfactory__855_855SSimmons.txt")[0]
    line = first.lines[0]
    assert (first.number, first.po_number) == ("83517234", "7542")
    assert (line.status, line.provenance["status"].confidence) == (LineStatus.ACCEPTED, 0.7)
    assert (line.delivery_date, line.provenance["delivery_date"].confidence) == (date(2011, 10, 7), 0.8)
    assert (line.line, line.po_line, line.supplier_item, line.unit_price) == ("100", "100", "64620451", Decimal("7700"))


def test_six_855s_in_one_group_give_six_acknowledgments() -> None:
    """GIVEN bots' 855 file with six transaction sets WHEN parsed THEN six acknowledgments with their own POs."""
    documents = corpus("855/bots__855-004010UCS-01.x12")
    expected = ["194207", "194208", "194721", "194722", "194723", "194724"]
    assert [document.po_number for document in documents] == expected
    assert len(documents[0].lines) == 26
    first_line = documents[0].lines[0]
    assert (first_line.line, first_line.po_line, first_line.provenance["line"].confidence) == ("1", None, 0.5)
    assert (first_line.quantity, first_line.uom, first_line.status) == (Decimal("102"), "CA", LineStatus.ACCEPTED)
    assert all(not document.problems for document in documents)


def test_810_tds_total_and_it1_values_are_read() -> None:
    """GIVEN bots' two-invoice 810 WHEN parsed THEN TDS has two implied decimals and IT1 gives quantity and price."""
    first, second = corpus("810/bots__810-004010-01.x12")
    assert (first.number, first.po_number, first.issue_date) == ("465266", "539893", date(2002, 5, 24))
    assert (first.total, second.total) == (Decimal("8432.02"), Decimal("1129.92"))
    line = first.lines[0]
    assert (line.quantity, line.uom, line.unit_price, line.description) == (
        Decimal("16"), "CA", Decimal("52.56"), "SSS CONVENIENT SIZE - 120ML")


def test_810_buyer_item_number_in_is_the_item() -> None:
    """GIVEN the Walmart 810 (IT1 ids IN, UP, UK) WHEN parsed THEN IN is the item and the others are other ids."""
    (document,) = corpus("810/oopfactory__810_Example5_Walmart.txt")
    line = document.lines[0]
    assert (line.item, line.other_ids) == ("001719653", ("022108955228", "00221089552284"))
    assert document.total == Decimal("3875.30")


def test_856_with_three_orders_gives_one_ship_notice_per_order() -> None:
    """GIVEN bots' 856 whose first shipment covers three POs WHEN parsed THEN one ship notice per PO, with its lines."""
    documents = corpus("856/bots__856_2.x12")
    expected = ["ordernumber1", "ordernumber2", "ordernumber4", "ordernumber"]
    assert [document.po_number for document in documents] == expected
    assert [len(document.lines) for document in documents] == [2, 3, 1, 2]
    assert {document.number for document in documents} == {"4167427123"}
    assert documents[0].lines[0].quantity == Decimal("24")


def test_856_with_an_ellipsis_terminator_and_item_level_prf_is_read() -> None:
    """GIVEN an 856 ended by U+2026 with PRF inside the item levels WHEN parsed THEN its lines carry that PO."""
    (document,) = corpus("856/oopfactory__856_Example3.txt")
    assert document.po_number == "5500005194"
    assert [line.quantity for line in document.lines] == [Decimal("1596"), Decimal("1152"), Decimal("1440")]
    assert [line.supplier_item for line in document.lines] == ["abc123", "ZZZ123", "XXX123"]


def test_860_segment_without_terminator_is_reported_and_split() -> None:
    """GIVEN the 860 whose N1 lacks its terminator WHEN parsed THEN a problem names it and the SE count matches."""
    (document,) = corpus("860/oopfactory__860_Example1.txt")
    assert [problem.code for problem in document.problems] == ["x12-missing-terminator"]
    assert [(line.item, line.supplier_item, line.status) for line in document.lines] == [
        ("59123", "018100775285", LineStatus.REJECTED), ("86111", "039307384346", LineStatus.REJECTED)]


def test_865_line_ack_gives_status_quantity_and_date() -> None:
    """GIVEN Tyco's 865 (POC RS, ACK*IC with a 017 date) and a wrong IEA02 WHEN parsed THEN the ACK wins and the
    control number mismatch is a problem, not an error."""
    (document,) = corpus("865/oopfactory__865_FromTyco.txt")
    line = document.lines[0]
    assert (line.status, line.quantity, line.delivery_date) == (LineStatus.CHANGED, Decimal("1000"), date(2008, 6, 2))
    assert (line.item, line.supplier_item) == ("CC848777821", "1771470-1")
    assert [problem.code for problem in document.problems] == ["x12-control-number-mismatch"]


@pytest.mark.parametrize(
    ("element", "component", "terminator", "newline"),
    [("*", ">", "~", ""), ("*", ">", "~", "\r\n"), ("*", ">", "\n", ""), ("*", "|", "~", "\n"),
     ("~", "`", "*", "\r\n"), ("*", ":", "\u2026", "\n"), ("*", ">", "'", "")],
    ids=["tilde", "tilde-crlf", "newline", "pipe-component", "tilde-element", "ellipsis", "quote"],
)
def test_delimiter_variants_parse_to_the_same_document(
    element: str, component: str, terminator: str, newline: str
) -> None:
    """GIVEN one 855 written with different separators WHEN parsed THEN the same PO, quantity and status come out."""
    raw = interchange(acknowledgment("ACK*IQ*8*EA"), element, component, terminator, newline)
    (document,) = parser.parse(raw)
    line = document.lines[0]
    assert (document.po_number, line.quantity, line.uom) == ("4500017004", Decimal("8"), "EA")
    assert line.status is LineStatus.CHANGED
    assert not document.problems


def test_separators_are_found_by_counting_and_repetition_from_00402() -> None:
    """GIVEN ISAs of version 00401 and 00501 WHEN separators are found THEN ISA11 is a repetition separator only in
    the later one."""
    old, _ = find_separators(isa(version="00401") + "~\n")
    new, _ = find_separators(isa(version="00501", component=":") + "~\n")
    assert (old.element, old.component, old.terminator, old.repetition) == ("*", ">", "~", None)
    assert (new.component, new.repetition, new.line_per_segment) == (":", "^", True)


def test_unpadded_isa_is_read() -> None:
    """GIVEN edinet's 810 whose ISA fields are not padded WHEN parsed THEN sender and invoice are read."""
    (document,) = corpus("810/edinet__x12.810a.edi")
    assert (document.sender, document.number) == ("ABCMUSICSUPPLY", "DO091003TESTINV01")
    assert document.total == Decimal("365.96")


def test_isa_without_isa16_is_reported_and_read() -> None:
    """GIVEN an ISA that ends `*P*~` and a newline (no ISA16) WHEN parsed THEN `~` is the terminator and a problem
    says ISA16 is missing."""
    raw = interchange(acknowledgment(), newline="\n").replace(b"*P*>~", b"*P*~")
    (document,) = parser.parse(raw)
    assert document.lines[0].uom == "EA"
    assert [problem.code for problem in document.problems] == ["x12-missing-isa16"]


def test_ebcdic_interchange_is_decoded() -> None:
    """GIVEN our 855 fixture encoded in EBCDIC (cp037) and bots' EBCDIC 850 WHEN sniffed and parsed THEN both are
    claimed and the 855 reads as in ASCII."""
    text = (FIXTURES / "855_glf_4500017004.x12").read_text()
    assert parser.parse(text.encode("cp037")) == parser.parse(text.encode())
    assert parser.sniff((X12_CORPUS / "850" / "bots__850_ebcdic.x12").read_bytes()) >= 0.9


def test_bom_and_indentation_are_ignored() -> None:
    """GIVEN an 855 with a UTF-8 BOM, CRLF and indented segments WHEN parsed THEN it reads as the plain one."""
    plain = interchange(acknowledgment())
    lines = plain.replace(b"\n", b"\r\n").splitlines(keepends=True)
    indented = b"\xef\xbb\xbf" + b"".join(b"    " + line for line in lines)
    assert parser.parse(indented) == parser.parse(plain)


@pytest.mark.parametrize(("code", "status"), sorted(ACK_STATUS.items()))
def test_ack_status_code_maps_to_line_status(code: str, status: LineStatus) -> None:
    """GIVEN an 855 line with ACK01 `code` WHEN parsed THEN the line has the status of the mapping table."""
    (document,) = parser.parse(interchange(acknowledgment(f"ACK*{code}*10*EA")))
    assert document.lines[0].status is status


@pytest.mark.parametrize(
    ("bak02", "status"),
    [("AT", LineStatus.ACCEPTED), ("AD", LineStatus.ACCEPTED), ("AC", LineStatus.CHANGED), ("RJ", LineStatus.REJECTED),
     ("RD", LineStatus.REJECTED)],
)
def test_bak02_applies_to_lines_without_their_own_ack(bak02: str, status: LineStatus) -> None:
    """GIVEN an 855 whose line has no ACK WHEN parsed THEN the line takes BAK02's status with a lower confidence."""
    (document,) = parser.parse(interchange(acknowledgment("DTM*002*20270129", bak02)))
    line = document.lines[0]
    assert (line.status, line.provenance["status"].confidence) == (status, 0.7)
    assert line.delivery_date == date(2027, 1, 29)


def test_unknown_ack_code_is_a_problem_and_an_unknown_status() -> None:
    """GIVEN ACK01 `ZZ` WHEN parsed THEN the status is unknown and a problem names the code."""
    (document,) = parser.parse(interchange(acknowledgment("ACK*ZZ*10*EA")))
    assert document.lines[0].status is LineStatus.UNKNOWN
    assert [problem.code for problem in document.problems] == ["x12-unknown-status-code"]


def test_substitution_puts_the_substitute_into_the_supplier_item() -> None:
    """GIVEN ACK*IS naming a substitute vendor part WHEN parsed THEN supplier_item is the substitute, status changed."""
    (document,) = parser.parse(interchange(acknowledgment("ACK*IS*10*EA*067*20270205**VP*GLF-HX-1060Z*UP*0123")))
    line = document.lines[0]
    assert (line.supplier_item, line.other_ids, line.status) == ("GLF-HX-1060Z", ("0123",), LineStatus.CHANGED)
    assert (line.item, line.delivery_date) == ("FAS-M10-60", date(2027, 2, 5))


@pytest.mark.parametrize(
    ("tds", "total"),
    [("12345", Decimal("123.45")), ("843202", Decimal("8432.02")), ("5", Decimal("0.05")), ("-500", Decimal("-5.00"))],
)
def test_tds_has_two_implied_decimals(tds: str, total: Decimal) -> None:
    """GIVEN TDS01 `tds` WHEN parsed THEN the invoice total is it divided by 100, exactly."""
    (document,) = parser.parse(interchange(invoice(tds)))
    assert document.total == total
    assert str(document.total) == str(total)


def test_tds_with_a_decimal_point_is_a_bad_number() -> None:
    """GIVEN TDS*123.45 (not an N2 value) WHEN parsed THEN the total stays unknown and a problem says why."""
    (document,) = parser.parse(interchange(invoice("123.45")))
    assert document.total is None
    assert [problem.code for problem in document.problems] == ["x12-bad-number"]


def test_bad_date_is_a_problem_not_an_error() -> None:
    """GIVEN BIG01 20271340 WHEN parsed THEN issue_date is unknown and the problem says where."""
    body = invoice()
    body[1] = "BIG*20271340*INV-1*20261115*4500017001"
    (document,) = parser.parse(interchange(body))
    assert document.issue_date is None
    assert [(problem.code, problem.location) for problem in document.problems] == [("x12-bad-date", "segment 4")]


def test_multi_group_file_reads_the_810_group_and_skips_the_850_group() -> None:
    """GIVEN staedi's interchange with an 810 group and an 003010 850 group WHEN parsed THEN two invoices, no
    problems."""
    documents = corpus("810/staedi__invoice810_po850_dual.edi")
    assert [(document.po_number, document.total) for document in documents] == [
        ("A99999-01", Decimal("2554.38")), ("A99999-04", Decimal("2554.38"))]
    assert all(not document.problems for document in documents)


def test_several_interchanges_with_different_separators_are_all_read() -> None:
    """GIVEN two interchanges back to back, the second with other separators WHEN parsed THEN both are read."""
    raw = interchange(invoice(control="0001")) + interchange(invoice("100", "0002"), "|", ":", "\n")
    documents = parser.parse(raw)
    assert [document.total for document in documents] == [Decimal("123.45"), Decimal("1.00")]
    assert all(not document.problems for document in documents)


def test_wrong_se_count_is_a_problem_not_an_error() -> None:
    """GIVEN an SE01 that miscounts WHEN parsed THEN the document is returned with an se-count problem."""
    body = invoice()
    body[-1] = "SE*9*0001"
    (document,) = parser.parse(interchange(body))
    assert [problem.code for problem in document.problems] == ["x12-se-count-mismatch"]


def test_damaged_transaction_set_is_skipped_and_named() -> None:
    """GIVEN two 810s, the second with a segment that has no valid id WHEN parsed THEN the first is returned with a
    problem naming the second."""
    damaged = invoice(control="0002")
    damaged.insert(2, "?? broken")
    raw = interchange([*invoice(), *damaged]).replace(b"GE*1*1", b"GE*2*1")
    (document,) = parser.parse(raw)
    assert [problem.code for problem in document.problems] == ["x12-syntax"]
    assert "810 0002" in document.problems[0].message


def test_all_transaction_sets_damaged_raises_with_the_location() -> None:
    """GIVEN a single damaged 810 WHEN parsed THEN a ParseError says x12-syntax and where."""
    damaged = invoice()
    damaged.insert(2, "?? broken")
    with pytest.raises(ParseError) as raised:
        parser.parse(interchange(damaged))
    assert (raised.value.code, raised.value.location) == ("x12-syntax", "segment 5")


@pytest.mark.parametrize(
    ("raw", "code"),
    [(b"GS*PR*1*2*20261120*0930*1*X*004010~", "x12-missing-isa"), (b"ISA*00*    *00~", "x12-bad-isa"),
     (b"ISA*00*          *00*          *ZZ*A*ZZ*B*261120*0930*U*00401*1*0*P*AB", "x12-bad-isa")],
    ids=["no-isa", "short-isa", "letters-as-separators"],
)
def test_unreadable_envelope_raises_parse_error(raw: bytes, code: str) -> None:
    """GIVEN content whose ISA is missing or yields no separators WHEN parsed THEN a ParseError with that code."""
    with pytest.raises(ParseError) as raised:
        parser.parse(raw)
    assert (raised.value.code, raised.value.location) == (code, "segment 1")


def mutations() -> st.SearchStrategy[bytes]:
    seeds = [path.read_bytes() for path in fixture_files()]

    def mutate(seed: bytes, position: int, cut: int, insert: bytes) -> bytes:
        at = position % (len(seed) + 1)
        return seed[:at] + insert + seed[at + cut:]

    inserts = st.binary(max_size=12) | st.sampled_from([b"*", b"~", b">", b"\n", b"ISA*", b"SE*", b"ST*855*1~"])
    mutated = st.builds(mutate, st.sampled_from(seeds), st.integers(0, 4000), st.integers(0, 40), inserts)
    return st.binary(max_size=300) | mutated


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_random_and_mutated_input_raises_nothing_but_parse_error(raw: bytes) -> None:
    """GIVEN random bytes or a damaged fixture WHEN sniffed and parsed THEN only ParseError can come out."""
    assert 0.0 <= parser.sniff(raw) <= 1.0
    try:
        parser.parse(raw)
    except ParseError:
        pass
