"""ANSI X12 supplier documents: 855 acknowledgments, 856 ship notices, 810 invoices, 860/865 order changes.

Vocabulary: an *interchange* (ISA..IEA) holds functional *groups* (GS..GE) that hold *transaction sets*
(ST..SE). A *segment* is a tag and its *elements*, numbered from 1: `PO102` is element 2 of a PO1 segment.
Segments are numbered from 1 across the whole file; every `Problem` and `Provenance` says "segment N".

The tokenizer is our own. Evaluated on PyPI (2026-11): pyx12 4.0.0 ships HIPAA maps only (no 810/855/856/860/865)
and refuses ISA12 versions other than 00401/00501 (the corpus has 00200 to 00406); badx12 0.2.2 (last release
2018) deletes every newline, which breaks newline-terminated files; ansi-x12 0.2.0 needs a 106-byte ISA and a
final terminator. All three read the ISA at fixed 106-byte offsets (wrong for unpadded or NO-BREAK SPACE padded
ISAs), and none reads EBCDIC or a multi-byte segment terminator. Here the separators come from counting element
separators in the ISA: ISA16 (component separator) is the character after the 16th one, and the segment
terminator is the character after that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from poguard.domain import DocumentKind, LineStatus, ParsedDocument, ParsedLine, Problem, Provenance
from poguard.errors import ParseError

__all__ = ["ACK_STATUS", "ACK_TYPE_STATUS", "CHANGE_TYPE_STATUS", "Separators", "X12Parser", "find_separators"]

PARSER_NAME = "x12"
SNIFF_BYTES = 512
SOURCE_WIDTH = 60
ISA_ELEMENT_COUNT = 16
REPETITION_FROM_VERSION = "00402"

_BOM = "\ufeff"
_LINE_BREAK = r"\r\n|\r|\n"
_ISA_START = re.compile(r"ISA[^A-Za-z0-9\s]")
_TAG = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_IMPLIED_DECIMAL = re.compile(r"[+-]?[0-9]+")
_DATE_FORMATS = {8: "%Y%m%d", 6: "%y%m%d"}
_DATE_DIGITS = re.compile(r"[0-9]{6}(?:[0-9]{2})?")

# Element 668, line item status code (ACK01): what the seller did with a line of the purchase order.
ACK_STATUS: dict[str, LineStatus] = {
    "IA": LineStatus.ACCEPTED,  # item accepted
    "AC": LineStatus.ACCEPTED,  # item accepted and shipped
    "AR": LineStatus.ACCEPTED,  # item accepted and released for shipment
    "AA": LineStatus.CHANGED,  # accepted, order forwarded to an alternate supplier location
    "BP": LineStatus.CHANGED,  # accepted, partial shipment, balance backordered
    "DR": LineStatus.CHANGED,  # accepted, date rescheduled
    "IB": LineStatus.CHANGED,  # backordered
    "IC": LineStatus.CHANGED,  # accepted, changes made
    "IE": LineStatus.CHANGED,  # accepted, price pending: not accepted at the ordered price
    "IF": LineStatus.CHANGED,  # on hold, incomplete description
    "IH": LineStatus.CHANGED,  # on hold
    "IP": LineStatus.CHANGED,  # accepted, price changed (the new price is in PO104)
    "IQ": LineStatus.CHANGED,  # accepted, quantity changed (the new quantity is in ACK02)
    "IS": LineStatus.CHANGED,  # accepted, substitution made (the substitute's ids are in ACK07..)
    "IW": LineStatus.CHANGED,  # on hold, waiver required
    "SP": LineStatus.CHANGED,  # accepted, schedule date pending
    "ID": LineStatus.REJECTED,  # item deleted
    "IR": LineStatus.REJECTED,  # item rejected
    "R1": LineStatus.REJECTED,  # rejected, not a contract item
    "R2": LineStatus.REJECTED,  # rejected, invalid item product number
    "R3": LineStatus.REJECTED,  # rejected, invalid unit of issue
    "R4": LineStatus.REJECTED,  # rejected, contract item not available
    "R5": LineStatus.REJECTED,  # rejected, reorder as a just-in-time order
    "R6": LineStatus.REJECTED,  # rejected, reorder as an extended delivery order
    "R7": LineStatus.REJECTED,  # rejected, reorder as a drop shipment
    "R8": LineStatus.REJECTED,  # rejected, reorder as a surge order
}

# Element 587, acknowledgment type (BAK02, BCA02): applies to the lines that carry no ACK of their own.
ACK_TYPE_STATUS: dict[str, LineStatus] = {
    "AT": LineStatus.ACCEPTED,  # accepted
    "AD": LineStatus.ACCEPTED,  # acknowledge with detail, no change
    "AE": LineStatus.ACCEPTED,  # acknowledge with exception detail only: lines without detail are as ordered
    "AK": LineStatus.ACCEPTED,  # acknowledge, no detail or change
    "AP": LineStatus.ACCEPTED,  # acknowledge, product replenishment
    "AC": LineStatus.CHANGED,  # acknowledge with detail and change
    "RD": LineStatus.REJECTED,  # rejected with detail
    "RF": LineStatus.REJECTED,  # rejected with exception detail only
    "RJ": LineStatus.REJECTED,  # rejected, no detail
    "RO": LineStatus.REJECTED,  # rejected with counter offer
}

# Element 670, change or response type (POC02): what a purchase order change does to a line.
CHANGE_TYPE_STATUS: dict[str, LineStatus] = {
    "AI": LineStatus.ADDED,  # add additional item(s)
    "NC": LineStatus.ACCEPTED,  # concurrent item, no change
    "DI": LineStatus.REJECTED,  # delete item(s)
    "CA": LineStatus.CHANGED,  # changes to line items
    "CT": LineStatus.CHANGED,  # change of dates or terms
    "PC": LineStatus.CHANGED,  # price change
    "PQ": LineStatus.CHANGED,  # unit price and quantity change
    "PR": LineStatus.CHANGED,  # unit price and reschedule change
    "QD": LineStatus.CHANGED,  # quantity decrease
    "QI": LineStatus.CHANGED,  # quantity increase
    "RQ": LineStatus.CHANGED,  # reschedule and quantity change
    "RS": LineStatus.CHANGED,  # reschedule
    "RZ": LineStatus.CHANGED,  # replace all values
}

# Date qualifiers (element 374) usable as a line's delivery date, best first, with how sure we are that the date
# is a delivery date: 068 and 011 are ship dates, taken only when nothing better is there.
DELIVERY_QUALIFIERS: dict[str, float] = {"067": 1.0, "017": 1.0, "002": 1.0, "068": 0.7, "011": 0.7}
HEADER_DATE_FACTOR = 0.8
# Beginning segments whose document number is the seller's own order number (BAK08, BCA09).
SELLER_ORDER_SEGMENTS = frozenset({"BAK", "BCA"})
ITEM_QUALIFIERS = frozenset({"BP", "IN"})  # buyer's part number, buyer's item number
SUPPLIER_QUALIFIERS = frozenset({"VP", "VN", "VC"})  # vendor's part, item and catalog numbers
LINE_END_TAGS = frozenset({"HL", "CTT", "TDS"})


@dataclass(frozen=True, slots=True)
class Separators:
    """The delimiters one ISA declares; `line_per_segment` when the ISA's terminator is followed by a line break."""

    element: str
    component: str | None
    terminator: str
    repetition: str | None
    line_per_segment: bool

    @property
    def boundary(self) -> str:
        """A regular expression matching the end of a segment."""
        if self.terminator in ("\r", "\n"):
            return _LINE_BREAK
        if self.terminator == " " and self.line_per_segment:
            # A space terminator is ambiguous with spaces in text: only a space before a line break ends a segment.
            return f" (?:{_LINE_BREAK})"
        return re.escape(self.terminator)


@dataclass(frozen=True, slots=True)
class Segment:
    index: int
    elements: tuple[str, ...]
    text: str
    component: str | None

    @property
    def tag(self) -> str:
        return self.elements[0]

    @property
    def location(self) -> str:
        return f"segment {self.index}"

    def element(self, number: int) -> str:
        """Element `number` (1-based) trimmed, or "" when the segment is shorter."""
        return self.elements[number].strip() if number < len(self.elements) else ""

    def code(self, number: int) -> str:
        """The first component of element `number`: units of measure are composites in some versions."""
        value = self.element(number)
        return value.split(self.component)[0].strip() if self.component else value

    def label(self, number: int) -> str:
        return f"{self.tag}{number:02d}"

    def source(self, note: str = "") -> str:
        text = f"{self.location} {self.text[:SOURCE_WIDTH]}"
        return f"{text} ({note})" if note else text


@dataclass(slots=True)
class _Transaction:
    """One ST..SE transaction set with the envelope around it."""

    start: Segment
    version: str
    isa: Segment | None
    segments: list[Segment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    damage: Problem | None = None
    end_index: int = 0

    @property
    def code(self) -> str:
        return self.start.element(1)

    @property
    def name(self) -> str:
        return f"transaction set {self.code} {self.start.element(2)} ({self.start.location})"


class _Damaged(Exception):
    """A transaction set that cannot be read; the other sets of the file still can."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where one transaction set keeps its document fields: element numbers in its beginning segment and lines."""

    kind: DocumentKind
    begin: str
    number: int
    po_number: int | None
    issue_date: int
    ack_type: int | None
    line: str
    quantity: int | None
    uom: int | None
    price: int | None
    first_id: int
    implied_total: bool


LAYOUTS: dict[str, _Layout] = {
    "855": _Layout(DocumentKind.ACKNOWLEDGMENT, "BAK", 8, 3, 9, 2, "PO1", 2, 3, 4, 6, False),
    "856": _Layout(DocumentKind.SHIP_NOTICE, "BSN", 2, None, 3, None, "LIN", None, None, None, 2, False),
    "810": _Layout(DocumentKind.INVOICE, "BIG", 2, 4, 1, None, "IT1", 2, 3, 4, 6, True),
    "860": _Layout(DocumentKind.CHANGE_REQUEST, "BCH", 5, 3, 11, None, "POC", 3, 5, 6, 8, False),
    "865": _Layout(DocumentKind.CHANGE_REQUEST, "BCA", 9, 3, 10, 2, "POC", 3, 5, 6, 8, False),
}


@dataclass(frozen=True, slots=True)
class _Dated:
    """A candidate delivery date and where it came from."""

    value: date
    segment: Segment
    confidence: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class _Defaults:
    """What the header says for lines that say nothing themselves."""

    status: tuple[LineStatus, Segment] | None
    delivery: _Dated | None


class X12Parser:
    """Reads X12 interchanges (004010, 005010 and neighbours) into acknowledgments, ship notices, invoices and
    change requests."""

    name = PARSER_NAME

    def sniff(self, raw: bytes) -> float:
        return 0.95 if _ISA_START.match(_decode(raw[:SNIFF_BYTES]).lstrip()) else 0.0

    def parse(self, raw: bytes) -> list[ParsedDocument]:
        segments, located = _tokenize(_decode(raw))
        transactions, loose = _transactions(segments)
        loose += _route(located, transactions)
        return _documents(transactions, loose)


# --- decoding and tokenizing -------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    """Text of `raw`: UTF-8 (BOM dropped), Latin-1 when not UTF-8, EBCDIC (cp037) when only that reads as ISA."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.removeprefix(_BOM)
    if _ISA_START.match(text.lstrip()):
        return text
    # cp037 and cp500 agree on letters, digits and `*`; cp037 is the US code page X12 senders use.
    ebcdic = raw.decode("cp037")
    return ebcdic if _ISA_START.match(ebcdic.lstrip()) else text


def _bad_isa(message: str, index: int) -> ParseError:
    return ParseError(
        message,
        code="x12-bad-isa",
        location=f"segment {index}",
        hint="an ISA has 16 elements; its element separator follows `ISA`, ISA16 is the component separator and "
        "the segment terminator comes right after it",
    )


def find_separators(text: str, start: int = 0, index: int = 1) -> tuple[Separators, list[Problem]]:
    """The separators of the ISA at `start` (segment number `index`), counting element separators."""
    element = text[start + 3 : start + 4]
    if not element or element.isalnum() or element.isspace():
        raise _bad_isa(f"the ISA has no element separator after `ISA` (found {element!r})", index)
    position = start + 3
    for _ in range(ISA_ELEMENT_COUNT - 1):
        position = text.find(element, position + 1)
        if position == -1:
            raise _bad_isa(f"the ISA has fewer than {ISA_ELEMENT_COUNT} {element!r} element separators", index)
    header = text[start:position]
    if "\n" in header or "\r" in header:
        raise _bad_isa(f"the ISA ends before its {ISA_ELEMENT_COUNT}th element separator", index)
    component, terminator = text[position + 1 : position + 2], text[position + 2 : position + 3]
    problems: list[Problem] = []
    if terminator in ("\r", "\n") and _next_line(text, position + 2).endswith(component):
        message = f"ISA16 is missing: {component!r} ends the segments"
        problems.append(Problem("x12-missing-isa16", message, f"segment {index}"))
        component, terminator = "", component
    _check_distinct(element, component, terminator, index)
    isa = header.split(element)
    separators = Separators(
        element=element,
        component=component or None,
        terminator=terminator,
        repetition=_repetition(isa[11], isa[12], (element, component, terminator)),
        line_per_segment=text[position + 3 : position + 4] in ("\r", "\n"),
    )
    return separators, problems


def _next_line(text: str, position: int) -> str:
    following = text[position:].lstrip()
    return re.split(_LINE_BREAK, following, maxsplit=1)[0].rstrip()


def _check_distinct(element: str, component: str, terminator: str, index: int) -> None:
    if not terminator or terminator.isalnum() or component.isalnum():
        found = component + terminator
        raise _bad_isa(f"the ISA ends in {found!r}: expected a component separator and a terminator", index)
    if len({element, component, terminator}) < 3:
        raise _bad_isa(f"element {element!r}, component {component!r} and terminator {terminator!r} must differ", index)


def _repetition(isa11: str, version: str, taken: tuple[str, ...]) -> str | None:
    """ISA11 is a repetition separator from version 00402 on; before, it is the standards id (`U`)."""
    if not (len(version) == 5 and version.isdigit() and version >= REPETITION_FROM_VERSION):
        return None
    if len(isa11) != 1 or isa11.isalnum() or isa11 in taken:
        return None
    return isa11


def _isa_start(text: str, offset: int) -> int | None:
    position = len(text) - len(text[offset:].lstrip())
    return position if _ISA_START.match(text, position) else None


def _tokenize(text: str) -> tuple[list[Segment], list[tuple[int, Problem]]]:
    """Every segment of every interchange, and the problems found on the way with the segment they concern."""
    start = _isa_start(text, 0)
    if start is None:
        raise ParseError(
            "the content does not start with an ISA interchange header",
            code="x12-missing-isa",
            location="segment 1",
            hint="an X12 file starts with `ISA` (after an optional byte order mark and blanks)",
        )
    segments: list[Segment] = []
    located: list[tuple[int, Problem]] = []
    while start is not None:
        separators, isa_problems = find_separators(text, start, len(segments) + 1)
        located += [(len(segments) + 1, problem) for problem in isa_problems]
        end = _interchange_end(text, start, separators)
        _split(text[start:end], separators, segments, located)
        start = _isa_start(text, end)
        if start is None and text[end:].strip():
            message = "text after the last IEA is not an interchange and was ignored"
            located.append((len(segments), Problem("x12-trailing-data", message, f"segment {len(segments)}")))
    return segments, located


def _interchange_end(text: str, start: int, separators: Separators) -> int:
    """Where the interchange starting at `start` ends: after its IEA segment, or at the end of the text."""
    trailer = re.compile(rf"(?:{separators.boundary})\s*IEA{re.escape(separators.element)}")
    found = trailer.search(text, start)
    if found is None:
        return len(text)
    boundary = re.compile(separators.boundary).search(text, found.end())
    return boundary.end() if boundary else len(text)


def _split(chunk: str, separators: Separators, segments: list[Segment], located: list[tuple[int, Problem]]) -> None:
    for piece in re.split(separators.boundary, chunk):
        texts = _unterminated(piece.strip(), separators)
        for number, text in enumerate(texts, 1):
            index = len(segments) + 1
            segments.append(Segment(index, tuple(text.split(separators.element)), text, separators.component))
            if number < len(texts):
                message = f"segment {index} has no terminator: it ran into the next line"
                located.append((index, Problem("x12-missing-terminator", message, f"segment {index}")))


def _unterminated(text: str, separators: Separators) -> list[str]:
    """`text` split at line breaks when the file puts one segment per line: a segment missing its terminator."""
    if not text:
        return []
    if not separators.line_per_segment or separators.boundary == _LINE_BREAK:
        return [text]
    return [line.strip() for line in re.split(_LINE_BREAK, text) if line.strip()]


# --- envelopes ---------------------------------------------------------------------------------------------


def _same_number(left: str, right: str) -> bool:
    return left == right or (left.isdigit() and right.isdigit() and left.lstrip("0") == right.lstrip("0"))


def _mismatch(code: str, message: str, segment: Segment) -> Problem:
    return Problem(code, message, segment.location)


class _EnvelopeReader:
    """Walks ISA/GS/ST..SE/GE/IEA, checking counts and control numbers; problems land on the sets they concern."""

    def __init__(self) -> None:
        self.transactions: list[_Transaction] = []
        self.loose: list[Problem] = []
        self.isa: Segment | None = None
        self.gs: Segment | None = None
        self.open: _Transaction | None = None
        self.group: list[_Transaction] = []
        self.interchange: list[_Transaction] = []
        self.groups = 0
        self.handlers = {
            "ISA": self._isa, "GS": self._gs, "ST": self._st, "SE": self._se, "GE": self._ge, "IEA": self._iea
        }

    def read(self, segment: Segment) -> None:
        self.handlers.get(segment.tag, self._other)(segment)

    def finish(self, last: Segment) -> None:
        self._close_open(last)
        if self.gs is not None:
            self._report(self.group, _mismatch("x12-missing-ge", f"the group of {self.gs.location} has no GE", last))
        if self.isa is not None:
            self._report(self.interchange, _mismatch("x12-missing-iea", "the interchange has no IEA", last))

    def _report(self, transactions: list[_Transaction], problem: Problem) -> None:
        for transaction in transactions:
            transaction.problems.append(problem)
        if not transactions:
            self.loose.append(problem)

    def _isa(self, segment: Segment) -> None:
        if self.isa is not None:
            self.finish(segment)
        self.isa, self.gs, self.groups, self.interchange, self.group = segment, None, 0, [], []

    def _gs(self, segment: Segment) -> None:
        self._close_open(segment)
        self.gs, self.group = segment, []
        self.groups += 1

    def _st(self, segment: Segment) -> None:
        self._close_open(segment)
        version = self.gs.element(8) if self.gs else segment.element(3)
        self.open = _Transaction(start=segment, version=version, isa=self.isa, end_index=segment.index)
        self.transactions.append(self.open)
        self.group.append(self.open)
        self.interchange.append(self.open)

    def _se(self, segment: Segment) -> None:
        transaction = self.open
        if transaction is None:
            self.loose.append(_mismatch("x12-segment-outside-transaction", "SE without ST", segment))
            return
        counted = len(transaction.segments) + 2
        if not _same_number(segment.element(1), str(counted)):
            message = f"SE01 says {segment.element(1)!r} segments, counted {counted} in {transaction.name}"
            transaction.problems.append(_mismatch("x12-se-count-mismatch", message, segment))
        if not _same_number(segment.element(2), transaction.start.element(2)):
            message = f"SE02 {segment.element(2)!r} does not match ST02 {transaction.start.element(2)!r}"
            transaction.problems.append(_mismatch("x12-control-number-mismatch", message, segment))
        transaction.end_index = segment.index
        self.open = None

    def _ge(self, segment: Segment) -> None:
        self._close_open(segment)
        if not _same_number(segment.element(1), str(len(self.group))):
            message = f"GE01 says {segment.element(1)!r} transaction sets, counted {len(self.group)}"
            self._report(self.group, _mismatch("x12-ge-count-mismatch", message, segment))
        expected = self.gs.element(6) if self.gs else ""
        if not _same_number(segment.element(2), expected):
            message = f"GE02 {segment.element(2)!r} does not match GS06 {expected!r}"
            self._report(self.group, _mismatch("x12-control-number-mismatch", message, segment))
        self.gs = None

    def _iea(self, segment: Segment) -> None:
        self._close_open(segment)
        if self.gs is not None:
            self._report(self.group, _mismatch("x12-missing-ge", f"the group of {self.gs.location} has no GE", segment))
            self.gs = None
        if not _same_number(segment.element(1), str(self.groups)):
            message = f"IEA01 says {segment.element(1)!r} groups, counted {self.groups}"
            self._report(self.interchange, _mismatch("x12-iea-count-mismatch", message, segment))
        expected = self.isa.element(13) if self.isa else ""
        if not _same_number(segment.element(2), expected):
            message = f"IEA02 {segment.element(2)!r} does not match ISA13 {expected!r}"
            self._report(self.interchange, _mismatch("x12-control-number-mismatch", message, segment))
        self.isa = None

    def _other(self, segment: Segment) -> None:
        transaction = self.open
        if transaction is None:
            message = f"{segment.tag!r} stands outside any ST..SE transaction set and was ignored"
            self.loose.append(_mismatch("x12-segment-outside-transaction", message, segment))
            return
        transaction.segments.append(segment)
        transaction.end_index = segment.index
        if transaction.damage is None and not _TAG.fullmatch(segment.tag):
            message = f"{segment.location} has no valid segment id: {segment.text[:SOURCE_WIDTH]!r}"
            transaction.damage = _mismatch("x12-syntax", message, segment)

    def _close_open(self, segment: Segment) -> None:
        if self.open is not None:
            message = f"{self.open.name} has no SE: it ends before {segment.location}"
            self.open.problems.append(_mismatch("x12-missing-se", message, segment))
            self.open = None


def _transactions(segments: list[Segment]) -> tuple[list[_Transaction], list[Problem]]:
    reader = _EnvelopeReader()
    for segment in segments:
        reader.read(segment)
    if segments:
        reader.finish(segments[-1])
    return reader.transactions, reader.loose


def _route(located: list[tuple[int, Problem]], transactions: list[_Transaction]) -> list[Problem]:
    """Tokenizer problems go to the transaction set holding their segment; the others concern the whole file."""
    loose: list[Problem] = []
    for index, problem in located:
        owner = next((t for t in transactions if t.start.index <= index <= t.end_index), None)
        (owner.problems if owner else loose).append(problem)
    return loose


# --- documents ---------------------------------------------------------------------------------------------


def _documents(transactions: list[_Transaction], loose: list[Problem]) -> list[ParsedDocument]:
    supported = [transaction for transaction in transactions if transaction.code in LAYOUTS]
    if not supported:
        found = ", ".join(sorted({transaction.code for transaction in transactions})) or "none"
        raise ParseError(
            f"no 855, 856, 810, 860 or 865 transaction set in this file (found: {found})",
            code="x12-no-supported-transaction",
            location=transactions[0].start.location if transactions else "segment 1",
            hint="poguard reads acknowledgments, ship notices, invoices and order changes, not purchase orders",
        )
    documents: list[ParsedDocument] = []
    damaged: list[Problem] = []
    for transaction in supported:
        try:
            documents += _read_transaction(transaction)
        except _Damaged as damage:
            damaged.append(damage.problem)
    if not documents:
        first = damaged[0]
        raise ParseError(first.message, code=first.code, location=first.location)
    for document in documents:
        document.problems += damaged + loose
    return documents


def _read_transaction(transaction: _Transaction) -> list[ParsedDocument]:
    if transaction.damage is not None:
        problem = transaction.damage
        raise _Damaged(Problem(problem.code, f"{transaction.name} skipped: {problem.message}", problem.location))
    layout = LAYOUTS[transaction.code]
    outside, loops = _partition(transaction.segments, layout.line)
    document = _read_header(transaction, layout, outside)
    header_status = _header_status(document, layout, outside)
    if header_status is not None:
        _put(document, "status", header_status[0], header_status[1])
    defaults = _Defaults(header_status, _header_delivery(outside, document.problems))
    lines = [_read_line(loop, position, layout, defaults, document.problems) for position, loop in enumerate(loops, 1)]
    if layout.kind is DocumentKind.SHIP_NOTICE:
        return _by_order(document, lines, loops, transaction)
    document.lines = lines
    return [document]


def _partition(segments: list[Segment], line_tag: str) -> tuple[list[Segment], list[list[Segment]]]:
    """Segments outside any line, and the line loops: a line segment and its details up to the next line or HL."""
    outside: list[Segment] = []
    loops: list[list[Segment]] = []
    in_line = False
    for segment in segments:
        if segment.tag == line_tag:
            loops.append([segment])
            in_line = True
        elif segment.tag in LINE_END_TAGS:
            in_line = False
            outside.append(segment)
        elif in_line:
            loops[-1].append(segment)
        else:
            outside.append(segment)
    return outside, loops


def _put(
    target: ParsedDocument | ParsedLine,
    name: str,
    value: object,
    segment: Segment,
    confidence: float = 1.0,
    note: str = "",
) -> None:
    """Set `name` on `target` with where it came from; nothing happens for a missing value."""
    if value is None or value == "":
        return
    setattr(target, name, value)
    target.provenance[name] = Provenance(segment.source(note), confidence)


def _first(segments: list[Segment], tag: str, qualifier: str | None = None) -> Segment | None:
    return next((s for s in segments if s.tag == tag and qualifier in (None, s.element(1))), None)


def _decimal(segment: Segment, number: int, problems: list[Problem]) -> Decimal | None:
    text = segment.element(number)
    if not text:
        return None
    if not _NUMBER.fullmatch(text):
        message = f"{segment.label(number)} {text!r} is not a number"
        problems.append(Problem("x12-bad-number", message, segment.location))
        return None
    return Decimal(text)


def _implied_decimal(segment: Segment, number: int, problems: list[Problem]) -> Decimal | None:
    """An N2 value: digits with two implied decimals (`TDS*12345` is 123.45)."""
    text = segment.element(number)
    if not text:
        return None
    if not _IMPLIED_DECIMAL.fullmatch(text):
        message = f"{segment.label(number)} {text!r} is not a whole number of cents (two implied decimals)"
        problems.append(Problem("x12-bad-number", message, segment.location))
        return None
    return Decimal(text).scaleb(-2)


def _date(segment: Segment, number: int, problems: list[Problem]) -> date | None:
    """CCYYMMDD, or YYMMDD in 003xxx versions."""
    text = segment.element(number)
    if not text:
        return None
    try:
        if not _DATE_DIGITS.fullmatch(text):
            raise ValueError(text)
        return datetime.strptime(text, _DATE_FORMATS[len(text)]).date()
    except ValueError:
        message = f"{segment.label(number)} {text!r} is not a date (CCYYMMDD or YYMMDD)"
        problems.append(Problem("x12-bad-date", message, segment.location))
        return None


def _read_header(transaction: _Transaction, layout: _Layout, outside: list[Segment]) -> ParsedDocument:
    document = ParsedDocument(kind=layout.kind, parser=PARSER_NAME, problems=list(transaction.problems))
    document.provenance["kind"] = Provenance(transaction.start.source(f"version {transaction.version}"))
    begin = _first(outside, layout.begin)
    if begin is None:
        message = f"{transaction.name} skipped: it has no {layout.begin} beginning segment"
        raise _Damaged(Problem("x12-missing-begin-segment", message, transaction.start.location))
    _put(document, "number", begin.element(layout.number), begin)
    if layout.begin in SELLER_ORDER_SEGMENTS:
        _put(document, "supplier_order_number", begin.element(layout.number), begin)
    if layout.po_number is not None:
        _put(document, "po_number", begin.element(layout.po_number), begin)
    _put(document, "issue_date", _date(begin, layout.issue_date, document.problems), begin)
    currency = _first(outside, "CUR")
    if currency is not None:
        _put(document, "currency", currency.element(2), currency)
    _read_total(document, layout, outside)
    _read_terms(document, outside)
    if transaction.isa is not None:
        _put(document, "sender", transaction.isa.element(6), transaction.isa)
    return document


def _read_terms(document: ParsedDocument, outside: list[Segment]) -> None:
    """ITD: discount percent (ITD03) within days (ITD05), net days (ITD07)."""
    itd = _first(outside, "ITD")
    if itd is None or not itd.element(7).isdigit():
        return
    discount = f"{itd.element(3)}/{itd.element(5)} " if itd.element(3) and itd.element(5).isdigit() else ""
    _put(document, "payment_terms", f"{discount}net {int(itd.element(7))} days", itd)


def _read_total(document: ParsedDocument, layout: _Layout, outside: list[Segment]) -> None:
    if layout.implied_total:
        total = _first(outside, "TDS")
        if total is not None:
            _put(document, "total", _implied_decimal(total, 1, document.problems), total)
        return
    amount = _first(outside, "AMT", "TT")
    if amount is not None:
        _put(document, "total", _decimal(amount, 2, document.problems), amount)


def _status(table: dict[str, LineStatus], segment: Segment, number: int, problems: list[Problem]) -> LineStatus | None:
    code = segment.element(number)
    if not code:
        return None
    if code not in table:
        message = f"{segment.label(number)} {code!r} is not a status code poguard knows"
        problems.append(Problem("x12-unknown-status-code", message, segment.location))
        return LineStatus.UNKNOWN
    return table[code]


def _header_status(
    document: ParsedDocument, layout: _Layout, outside: list[Segment]
) -> tuple[LineStatus, Segment] | None:
    begin = _first(outside, layout.begin)
    if layout.ack_type is None or begin is None:
        return None
    status = _status(ACK_TYPE_STATUS, begin, layout.ack_type, document.problems)
    return (status, begin) if status is not None else None


def _dtm_dates(segments: list[Segment], problems: list[Problem]) -> list[_Dated]:
    dated: list[_Dated] = []
    for segment in segments:
        qualifier = segment.element(1)
        if segment.tag != "DTM" or qualifier not in DELIVERY_QUALIFIERS:
            continue
        value = _date(segment, 2, problems)
        if value is not None:
            dated.append(_Dated(value, segment, DELIVERY_QUALIFIERS[qualifier]))
    return dated


def _best(dated: list[_Dated]) -> _Dated | None:
    order = list(DELIVERY_QUALIFIERS)
    return min(dated, key=lambda d: order.index(d.segment.element(1)), default=None)


def _header_delivery(outside: list[Segment], problems: list[Problem]) -> _Dated | None:
    best = _best(_dtm_dates(outside, problems))
    if best is None:
        return None
    note = "header date applied to a line without its own"
    return _Dated(best.value, best.segment, best.confidence * HEADER_DATE_FACTOR, note)


def _product_ids(segment: Segment, first: int) -> list[tuple[str, str]]:
    pairs = ((segment.element(n), segment.element(n + 1)) for n in range(first, len(segment.elements), 2))
    return [(qualifier, value) for qualifier, value in pairs if qualifier and value]


def _add_other_id(line: ParsedLine, value: str, segment: Segment) -> None:
    _put(line, "other_ids", (*line.other_ids, value), segment)


def _assign_ids(line: ParsedLine, segment: Segment, first: int) -> None:
    """BP/IN are the buyer's ids (item), VP/VN/VC the supplier's (supplier_item); the rest go to other_ids."""
    for qualifier, value in _product_ids(segment, first):
        if qualifier in ITEM_QUALIFIERS and line.item is None:
            _put(line, "item", value, segment)
        elif qualifier in SUPPLIER_QUALIFIERS and line.supplier_item is None:
            _put(line, "supplier_item", value, segment)
        else:
            _add_other_id(line, value, segment)


def _assign_substitute(line: ParsedLine, segment: Segment) -> None:
    """ACK*IS: the substitute's supplier id replaces supplier_item; its other ids join other_ids."""
    for qualifier, value in _product_ids(segment, 7):
        if qualifier in SUPPLIER_QUALIFIERS:
            _put(line, "supplier_item", value, segment, note="substitute product")
        else:
            _add_other_id(line, value, segment)


def _read_line(
    loop: list[Segment], position: int, layout: _Layout, defaults: _Defaults, problems: list[Problem]
) -> ParsedLine:
    first = loop[0]
    line = ParsedLine()
    _read_line_number(line, first, position)
    _assign_ids(line, first, layout.first_id)
    if layout.quantity is not None and layout.uom is not None:
        _put(line, "quantity", _decimal(first, layout.quantity, problems), first)
        _put(line, "uom", first.code(layout.uom), first)
    if layout.price is not None:
        _put(line, "unit_price", _decimal(first, layout.price, problems), first)
    if first.tag == "POC":
        _put(line, "status", _status(CHANGE_TYPE_STATUS, first, 2, problems), first)
    _read_details(line, loop[1:], problems)
    _apply_defaults(line, defaults)
    return line


def _read_line_number(line: ParsedLine, first: Segment, position: int) -> None:
    assigned = first.element(1)
    if not assigned:
        _put(line, "line", str(position), first, 0.5, f"no {first.label(1)}: position in the transaction set")
        return
    _put(line, "line", assigned, first)
    _put(line, "po_line", assigned, first, 0.8, f"{first.label(1)} assigned id taken as the buyer's PO line")


def _read_details(line: ParsedLine, details: list[Segment], problems: list[Problem]) -> None:
    description = next((s for s in details if s.tag == "PID" and s.element(5)), None)
    if description is not None:
        _put(line, "description", description.element(5), description)
    shipped = _first(details, "SN1")
    if shipped is not None:
        _put(line, "quantity", _decimal(shipped, 2, problems), shipped)
        _put(line, "uom", shipped.code(3), shipped)
    acks = [segment for segment in details if segment.tag == "ACK"]
    acknowledged = _read_ack(line, acks, problems) if acks else None
    best = acknowledged or _best(_dtm_dates(details, problems))
    if best is not None:
        _put(line, "delivery_date", best.value, best.segment, best.confidence, best.note)


def _read_ack(line: ParsedLine, acks: list[Segment], problems: list[Problem]) -> _Dated | None:
    """The first ACK of a line: its status, quantity, unit and date; a substitute's ids for ACK*IS."""
    ack = acks[0]
    for extra in acks[1:]:
        message = f"a line has several ACK segments; only the first ({ack.location}) was read"
        problems.append(Problem("x12-several-acks", message, extra.location))
    _put(line, "status", _status(ACK_STATUS, ack, 1, problems), ack)
    _put(line, "quantity", _decimal(ack, 2, problems), ack)
    _put(line, "uom", ack.code(3), ack)
    if ack.element(1) == "IS":
        _assign_substitute(line, ack)
    qualifier = ack.element(4)
    value = _date(ack, 5, problems) if qualifier in DELIVERY_QUALIFIERS else None
    return _Dated(value, ack, DELIVERY_QUALIFIERS[qualifier]) if value is not None else None


def _apply_defaults(line: ParsedLine, defaults: _Defaults) -> None:
    if "status" not in line.provenance and defaults.status is not None:
        status, segment = defaults.status
        _put(line, "status", status, segment, 0.7, f"{segment.label(2)} applied to a line without its own ACK")
    if line.delivery_date is None and defaults.delivery is not None:
        dated = defaults.delivery
        _put(line, "delivery_date", dated.value, dated.segment, dated.confidence, dated.note)


# --- ship notices: one document per purchase order -----------------------------------------------------------


@dataclass(slots=True)
class _Hierarchy:
    """The HL tree of a ship notice and the PRF (purchase order reference) found on each level."""

    parent: dict[str, str | None] = field(default_factory=dict)
    order: dict[str, Segment] = field(default_factory=dict)
    current: str = ""
    last_order: str | None = None

    def enter(self, hl: Segment) -> None:
        identifier, parent, level = hl.element(1), hl.element(2), hl.element(3)
        # Some senders leave HL02 empty: an item then belongs to the order level seen last.
        self.parent[identifier] = parent or (None if level in ("S", "O") else self.last_order)
        if level == "O":
            self.last_order = identifier
        self.current = identifier

    def order_of(self, identifier: str) -> Segment | None:
        seen: set[str] = set()
        key: str | None = identifier
        while key is not None and key not in seen:
            if key in self.order:
                return self.order[key]
            seen.add(key)
            key = self.parent.get(key)
        return None


def _orders_by_line(segments: list[Segment]) -> dict[int, Segment | None]:
    """For each LIN (by segment index), the PRF of its own level or the nearest level above it."""
    hierarchy = _Hierarchy()
    level_of_line: dict[int, str] = {}
    for segment in segments:
        if segment.tag == "HL":
            hierarchy.enter(segment)
        elif segment.tag == "PRF":
            hierarchy.order.setdefault(hierarchy.current, segment)
        elif segment.tag == "LIN":
            level_of_line[segment.index] = hierarchy.current
    return {index: hierarchy.order_of(level) for index, level in level_of_line.items()}


def _by_order(
    shipment: ParsedDocument, lines: list[ParsedLine], loops: list[list[Segment]], transaction: _Transaction
) -> list[ParsedDocument]:
    """One ship notice per purchase order: a shipment may carry goods for several."""
    orders = _orders_by_line(transaction.segments)
    groups: dict[str | None, tuple[Segment | None, list[ParsedLine]]] = {}
    for line, loop in zip(lines, loops):
        reference = orders.get(loop[0].index)
        key = reference.element(1) if reference else None
        groups.setdefault(key, (reference, []))[1].append(line)
    if not groups:
        groups[None] = (_first(transaction.segments, "PRF"), [])
    start = transaction.start
    return [_order_document(shipment, reference, order_lines, start) for reference, order_lines in groups.values()]


def _order_document(
    shipment: ParsedDocument, reference: Segment | None, lines: list[ParsedLine], start: Segment
) -> ParsedDocument:
    document = replace(shipment, lines=lines, problems=list(shipment.problems), provenance=dict(shipment.provenance))
    if reference is not None and reference.element(1):
        _put(document, "po_number", reference.element(1), reference)
        return document
    message = "no PRF names the purchase order of these lines"
    document.problems.append(Problem("x12-missing-po-number", message, start.location))
    return document
