"""UN/EDIFACT order responses, despatch advices, invoices and order changes read into `ParsedDocument`s.

Vocabulary
- *interchange*: what a UNB ... UNZ envelope holds; a file may carry several, each with its own UNA.
- *message*: one UNH ... UNT; one message becomes one document.
- *header part*, *line group*, *summary part*: a message split at its first LIN and at UNS. A line group
  runs from a LIN to the next LIN, UNS, CNT or CPS, so values are read from the group they belong to.
- *segment number*: the 1-based position of a segment in its interchange (UNB is segment 1); every
  location and provenance names it, prefixed by the interchange number when the file holds several.

pydifact tokenizes; the text is prepared first (charset per UNB, BOM, line breaks, curly-quote
terminators, empty segments) because pydifact itself reads one clean interchange at a time.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydifact.control import Characters
from pydifact.parser import Parser as PydifactParser
from pydifact.parser import TokenIterator
from pydifact.segments import Segment as PydifactSegment
from pydifact.segments import SegmentFactory
from pydifact.tokenizer import Tokenizer

from poguard.domain import DocumentKind, LineStatus, ParsedDocument, ParsedLine, Problem, Provenance
from poguard.errors import ParseError

__all__ = ["EdifactParser", "parse_edifact_date"]

NAME = "edifact"
FALLBACK_CONFIDENCE = 0.7
SOURCE_TEXT_LIMIT = 60

_BOM = b"\xef\xbb\xbf"
_SUPPORTED = "ORDRSP, DESADV, INVOIC, ORDCHG"

_KINDS = {
    "ORDRSP": DocumentKind.ACKNOWLEDGMENT,
    "DESADV": DocumentKind.SHIP_NOTICE,
    "INVOIC": DocumentKind.INVOICE,
    "ORDCHG": DocumentKind.CHANGE_REQUEST,
}

# UNB S001/0001 syntax identifier -> the codec it declares. UNOA/UNOB are ASCII subsets.
_CHARSETS = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "latin-1",
    "UNOD": "iso8859-2",
    "UNOE": "iso8859-5",
    "UNOF": "iso8859-7",
    "UNOG": "iso8859-3",
    "UNOH": "iso8859-4",
    "UNOI": "iso8859-6",
    "UNOJ": "iso8859-8",
    "UNOK": "iso8859-9",
    "UNOW": "utf-8",
    "UNOY": "utf-8",
}

# UNCL 2151 type of period on PAT, in days.
_PERIOD_DAYS = {"D": 1, "W": 7, "M": 30}

# UNCL 1229 action code on LIN. 24 is "accepted with amendment, no confirmation required" (book trade).
_LINE_STATUS = {
    "1": LineStatus.ADDED,
    "2": LineStatus.REJECTED,
    "3": LineStatus.CHANGED,
    "5": LineStatus.ACCEPTED,
    "6": LineStatus.CHANGED,
    "7": LineStatus.REJECTED,
    "24": LineStatus.CHANGED,
}

# UNCL 1225 message function on BGM: the status of every line that states none of its own.
_MESSAGE_STATUS = {
    "4": LineStatus.CHANGED,
    "27": LineStatus.REJECTED,
    "29": LineStatus.ACCEPTED,
}

# UNCL 7143 item type code: buyer's numbers become `item`, the supplier's `supplier_item`, the rest `other_ids`.
_BUYER_ID_TYPES = frozenset({"IN", "BP"})
_SUPPLIER_ID_TYPES = frozenset({"SA", "VN", "VP"})
# PIA 4347: 1 additional identification, 5 product identification; substitutes (3, 4) are other products.
_PIA_FUNCTIONS = frozenset({"1", "5"})

# PRI 5125: net price first, then the invoice price, the gross price, and a calculation price last.
_PRICE_QUALIFIERS = ("AAA", "INV", "AAB", "CAL")

# DTM 2379 format code -> strptime pattern and length of the (first) date; 718/719 are ranges: the start is taken.
_DATE_FORMATS = {
    "101": ("%y%m%d", 6),
    "102": ("%Y%m%d", 8),
    "201": ("%y%m%d%H%M", 10),
    "203": ("%Y%m%d%H%M", 12),
    "204": ("%Y%m%d%H%M%S", 14),
    "718": ("%Y%m%d", 8),
    "719": ("%Y%m%d%H%M", 12),
}
_RANGE_FORMATS = frozenset({"718", "719"})
_FORMAT_BY_LENGTH = {6: "101", 8: "102", 10: "201", 12: "203", 14: "204"}

_NUMBER = re.compile(r"-?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_CURRENCY = re.compile(r"[A-Z]{3}")
_SEGMENT_TAG = "[A-Z][A-Z0-9]{2}"
_UNB_SYNTAX = re.compile(rb"UNB.([A-Z]{4})")
_UNH_NEAR_START = re.compile(rb"UNH.{1,40}?[A-Z]{6}:[0-9A-Z]{1,3}:[0-9A-Z]{1,3}")
_SNIFF_WINDOW = 2048


@dataclass(frozen=True, slots=True)
class _Rules:
    """Which qualifiers answer which field in one message type, best first."""

    quantity: tuple[str, ...]
    delivery: tuple[str, ...]
    issue: tuple[str, ...]
    total: tuple[str, ...]


_ORDER_RESPONSE_RULES = _Rules(
    quantity=("113", "21", "145"),
    delivery=("2", "69", "17"),
    issue=("137",),
    total=("86", "128", "79"),
)

_RULES = {
    DocumentKind.ACKNOWLEDGMENT: _ORDER_RESPONSE_RULES,
    DocumentKind.CHANGE_REQUEST: _ORDER_RESPONSE_RULES,
    DocumentKind.SHIP_NOTICE: _Rules(
        quantity=("12",),
        delivery=("17", "132", "2", "69", "11"),
        issue=("137", "11"),
        total=("86", "128", "79"),
    ),
    DocumentKind.INVOICE: _Rules(
        quantity=("47", "12"),
        delivery=("35", "2"),
        issue=("137", "3"),
        total=("77", "86", "39", "9"),
    ),
}


# --------------------------------------------------------------------------------------------- dates


def parse_edifact_date(value: str, format_code: str) -> date:
    """The date in a DTM value written in format `format_code` (UNCL 2379); ValueError when it is not one."""
    if format_code not in _DATE_FORMATS:
        raise ValueError(f"date format {format_code!r} is not supported")
    pattern, length = _DATE_FORMATS[format_code]
    text = value.split("-")[0] if format_code in _RANGE_FORMATS else value
    if len(text) != length or not text.isdigit():
        raise ValueError(f"{value!r} is not {length} digits")
    return datetime.strptime(text, pattern).date()


# --------------------------------------------------------------------------------------------- segments


@dataclass(frozen=True, slots=True)
class _Segment:
    """One segment, its elements as tuples of components, and where it sits."""

    tag: str
    elements: tuple[tuple[str, ...], ...]
    where: str

    def value(self, element: int, component: int = 0) -> str:
        if element >= len(self.elements) or component >= len(self.elements[element]):
            return ""
        return self.elements[element][component].strip()

    @property
    def qualifier(self) -> str:
        return self.value(0)

    @property
    def text(self) -> str:
        rendered = "+".join([self.tag, *(":".join(parts) for parts in self.elements)])
        if len(rendered) <= SOURCE_TEXT_LIMIT:
            return rendered
        return rendered[: SOURCE_TEXT_LIMIT - 3] + "..."

    def source(self, note: str = "") -> str:
        return f"{self.where} {self.text}{note}"


def _problem(code: str, message: str, segment: _Segment | None = None) -> Problem:
    return Problem(code, message, segment.where if segment else None)


# --------------------------------------------------------------------------------------------- bytes -> text


def _declared_syntax(body: bytes) -> str | None:
    match = _UNB_SYNTAX.search(body)
    return match.group(1).decode("ascii") if match else None


def _decode(raw: bytes) -> tuple[str, list[Problem]]:
    """The text of `raw` in the charset its UNB declares; a file that lies about it is read anyway, noted."""
    body = raw.removeprefix(_BOM)
    if body.isascii():
        return body.decode("ascii"), []
    syntax = _declared_syntax(body)
    declared = _CHARSETS.get(syntax or "", "utf-8")
    if declared != "utf-8" and _is_utf8(body):
        return body.decode("utf-8"), [_charset_problem(syntax, declared, "utf-8")]
    try:
        return body.decode(declared), []
    except UnicodeDecodeError:
        return body.decode("latin-1"), [_charset_problem(syntax, declared, "latin-1")]


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _charset_problem(syntax: str | None, declared: str, used: str) -> Problem:
    said = f"UNB declares {syntax} ({declared})" if syntax else "no UNB declares a charset (utf-8 assumed)"
    return Problem("edifact-charset-fallback", f"{said}, but the bytes are not {declared} text; read as {used}", "UNB")


# --------------------------------------------------------------------------------------------- text -> segments


@dataclass(slots=True)
class _Tokens:
    """What pydifact read from one UNA-delimited stretch of text, and the error that stopped it, if any."""

    raw: list[tuple[str, tuple[tuple[str, ...], ...]]] = field(default_factory=list)
    failure: str | None = None
    repaired_terminators: int = 0


class _UnvalidatedFactory(SegmentFactory):
    """pydifact's factory without its directory validation: poguard reports problems itself, leniently."""

    @staticmethod
    def create_segment(name: str, *elements: Any, validate: bool = True, **kwargs: Any) -> PydifactSegment:
        return SegmentFactory.create_segment(name, *elements, validate=False, **kwargs)


def _interchange_texts(text: str) -> list[str]:
    """`text` cut before every UNA that starts a segment: each interchange may declare its own separators."""
    texts: list[str] = []
    rest = text
    while (cut := _next_service_advice(rest)) is not None:
        texts.append(rest[:cut])
        rest = rest[cut:]
    texts.append(rest)
    return texts


def _next_service_advice(text: str) -> int | None:
    """Where the next UNA starts: right after an unreleased terminator, and followed by a UNB or UNH."""
    terminator, release = (text[8], text[6]) if text.startswith("UNA") and len(text) > 8 else ("'", "?")
    pattern = f"(?<!{re.escape(release)}){re.escape(terminator)}\\s*(UNA.{{6}}\\s*UN[BH])"
    match = re.search(pattern, text, re.DOTALL)
    return match.start(1) if match else None


def _characters(text: str) -> tuple[Characters, str]:
    """The service characters of `text` (its UNA, or the defaults) and the text after the UNA."""
    if not text.startswith("UNA"):
        return Characters(decimal_point="."), text
    if len(text) < 9:
        raise ParseError("UNA must be followed by six service characters", code="edifact-bad-una", location="UNA")
    characters = Characters.from_str(text[:9])
    controls = {
        characters.component_separator,
        characters.data_separator,
        characters.escape_character,
        characters.segment_terminator,
    }
    if len(controls) < 4:
        raise ParseError(
            f"UNA {text[:9]!r} uses one character for two roles",
            code="edifact-bad-una",
            location="UNA",
            hint="separators, release character and terminator must all differ",
        )
    return characters, text[9:]


def _prepared(body: str, characters: Characters) -> tuple[str, int]:
    """`body` made digestible for pydifact, and how many curly-quote terminators were repaired."""
    controls = str(characters)
    for line_break in "\r\n":
        if line_break not in controls:
            body = body.replace(line_break, "")
    body, repaired = _repair_curly_terminators(body.strip(), characters)
    body = _drop_empty_segments(body, characters)
    return _terminated(body, characters), repaired


def _repair_curly_terminators(body: str, characters: Characters) -> tuple[str, int]:
    # Book-trade ORDRSPs typed in word processors end some segments with U+2019 instead of an apostrophe.
    if characters.segment_terminator != "'":
        return body, 0
    pattern = f"\u2019(?=(?:{_SEGMENT_TAG}{re.escape(characters.data_separator)})|$)"
    return re.subn(pattern, "'", body)


def _drop_empty_segments(body: str, characters: Characters) -> str:
    terminator = re.escape(characters.segment_terminator)
    release = re.escape(characters.escape_character)
    return re.sub(f"(?<!{release}){terminator}(?:\\s*{terminator})+", characters.segment_terminator, body)


def _terminated(body: str, characters: Characters) -> str:
    trimmed = body.rstrip()
    terminator = characters.segment_terminator
    stem = trimmed.removesuffix(terminator)
    releases = len(stem) - len(stem.rstrip(characters.escape_character))
    if trimmed.endswith(terminator) and releases % 2 == 0:
        return body
    return trimmed + terminator if trimmed else trimmed


def _tokenize(text: str) -> _Tokens:
    characters, body = _characters(text)
    prepared, repaired = _prepared(body, characters)
    tokens = _Tokens(repaired_terminators=repaired)
    # Parser.parse would look for a UNA anywhere in the text and drop what precedes it: use its parts instead.
    parser = PydifactParser(factory=_UnvalidatedFactory(), characters=characters)
    stream = TokenIterator(Tokenizer().get_tokens(prepared, characters))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for elements in parser.convert_tokens_to_raw_segments(stream):
                segment = parser.convert_raw_segment_to_segment(elements, directory="")
                tokens.raw.append((segment.tag, _components(segment.elements)))
        except Exception as error:  # pydifact raises EDISyntaxError, ValueError, IndexError... on bad input
            tokens.failure = str(error) or type(error).__name__
    return tokens


def _components(elements: Sequence[Any]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(element) if isinstance(element, list) else (element,) for element in elements)


@dataclass(slots=True)
class _Stream:
    """Every segment of a file, numbered, plus the problems met while reading them."""

    segments: list[_Segment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    failure: Problem | None = None


def _read_stream(text: str) -> _Stream:
    stream = _Stream()
    numbering = _Numbering()
    for part in _interchange_texts(text):
        try:
            tokens = _tokenize(part)
        except ParseError as error:
            stream.failure = Problem(error.code, error.message, numbering.next_where())
            break
        stream.segments.extend(numbering.segment(tag, elements) for tag, elements in tokens.raw)
        if tokens.repaired_terminators:
            stream.problems.append(_curly_problem(tokens.repaired_terminators))
        if tokens.failure is not None:
            stream.failure = Problem("edifact-syntax", f"cannot tokenize: {tokens.failure}", numbering.next_where())
            break
    return stream


def _curly_problem(count: int) -> Problem:
    return Problem(
        "edifact-curly-quote-terminator",
        f"{count} segment(s) end with a curly quote (U+2019) instead of an apostrophe; read as terminators",
    )


@dataclass(slots=True)
class _Numbering:
    """Segment numbers restart at each UNB; the interchange number is named only from the second on."""

    interchange: int = 0
    position: int = 0

    def segment(self, tag: str, elements: tuple[tuple[str, ...], ...]) -> _Segment:
        if tag == "UNB":
            self.interchange += 1
            self.position = 0
        self.position += 1
        return _Segment(tag, elements, self._where(self.position))

    def next_where(self) -> str:
        return self._where(self.position + 1)

    def _where(self, position: int) -> str:
        if self.interchange > 1:
            return f"interchange {self.interchange} segment {position}"
        return f"segment {position}"


# --------------------------------------------------------------------------------------------- envelopes


@dataclass(slots=True)
class _Interchange:
    unb: _Segment | None
    problems: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class _Message:
    unh: _Segment
    interchange: _Interchange
    body: list[_Segment] = field(default_factory=list)
    unt: _Segment | None = None

    @property
    def type(self) -> str:
        return self.unh.value(1, 0)

    @property
    def label(self) -> str:
        name = " ".join(part for part in (self.type or "message", self.unh.value(0)) if part)
        return f"{name} at {self.unh.where}"


class _EnvelopeReader:
    """Sorts segments into interchanges and messages, noting every envelope that does not close."""

    def __init__(self) -> None:
        self.messages: list[_Message] = []
        self.unterminated: list[_Message] = []
        self.loose: list[Problem] = []
        self._interchange: _Interchange | None = None
        self._message: _Message | None = None

    def read(self, segments: Iterable[_Segment]) -> _EnvelopeReader:
        for segment in segments:
            self._take(segment)
        self._end_message()
        self._end_interchange()
        return self

    def _take(self, segment: _Segment) -> None:
        if segment.tag == "UNB":
            self._end_message()
            self._end_interchange()
            self._interchange = _Interchange(segment)
        elif segment.tag == "UNZ":
            self._end_message()
            self._end_interchange(closed_by=segment)
        elif segment.tag == "UNH":
            self._end_message()
            self._message = _Message(segment, self._open_interchange(segment))
        elif segment.tag == "UNT":
            self._close_message(segment)
        elif self._message is not None:
            self._message.body.append(segment)
        elif segment.tag not in ("UNG", "UNE"):
            outside = f"{segment.tag} outside any message; ignored"
            self._note(_problem("edifact-segment-outside-message", outside, segment))

    def _note(self, problem: Problem) -> None:
        """A problem of the open interchange, or of the whole file when no interchange is open."""
        if self._interchange is not None:
            self._interchange.problems.append(problem)
        else:
            self.loose.append(problem)

    def _open_interchange(self, segment: _Segment) -> _Interchange:
        if self._interchange is None:
            self._interchange = _Interchange(None)
            self._interchange.problems.append(
                _problem("edifact-missing-unb", f"{segment.tag} before any UNB interchange header", segment)
            )
        return self._interchange

    def _close_message(self, unt: _Segment) -> None:
        if self._message is None:
            self._note(_problem("edifact-stray-unt", "UNT without a UNH before it; ignored", unt))
            return
        self._message.unt = unt
        self.messages.append(self._message)
        self._message = None

    def _end_message(self) -> None:
        if self._message is not None:
            self.unterminated.append(self._message)
            self._message = None

    def _end_interchange(self, closed_by: _Segment | None = None) -> None:
        if self._interchange is None:
            if closed_by is not None:
                self.loose.append(_problem("edifact-stray-unz", "UNZ without a UNB before it; ignored", closed_by))
            return
        if closed_by is None:
            self._interchange.problems.append(
                _problem("edifact-missing-unz", "the interchange ends without UNZ", self._interchange.unb)
            )
        self._interchange = None


# --------------------------------------------------------------------------------------------- message parts


@dataclass(slots=True)
class _Parts:
    header: list[_Segment] = field(default_factory=list)
    lines: list[list[_Segment]] = field(default_factory=list)
    summary: list[_Segment] = field(default_factory=list)


def _split_parts(body: Iterable[_Segment]) -> _Parts:
    """Header part, one group per LIN, summary part; packaging levels (CPS) between lines are dropped."""
    parts = _Parts()
    target = parts.header
    dropped: list[_Segment] = []
    for segment in body:
        if segment.tag == "LIN" and target is not parts.summary:
            parts.lines.append([segment])
            target = parts.lines[-1]
        elif segment.tag == "UNS" or (segment.tag == "CNT" and parts.lines):
            target = parts.summary
        elif segment.tag == "CPS" and parts.lines and target is parts.lines[-1]:
            target = dropped
        target.append(segment)
    return parts


def _qualified(segments: Iterable[_Segment], tag: str, qualifiers: Sequence[str]) -> _Segment | None:
    """The segment `tag` whose qualifier comes first in `qualifiers`; the earliest of equals."""
    ranked = [
        (qualifiers.index(segment.qualifier), position, segment)
        for position, segment in enumerate(segments)
        if segment.tag == tag and segment.qualifier in qualifiers
    ]
    return min(ranked, key=lambda item: item[:2])[2] if ranked else None


def _first(segments: Iterable[_Segment], tag: str) -> _Segment | None:
    return next((segment for segment in segments if segment.tag == tag), None)


def _set(target: ParsedDocument | ParsedLine, name: str, value: object, provenance: Provenance) -> None:
    setattr(target, name, value)
    target.provenance[name] = provenance


# --------------------------------------------------------------------------------------------- values


def _decimal(text: str, segment: _Segment, problems: list[Problem]) -> Decimal | None:
    """A number as EDIFACT writes it: either decimal mark (ISO 9735), no thousands separator, no exponent."""
    if _NUMBER.fullmatch(text):
        return Decimal(text.replace(",", "."))
    problems.append(_problem("edifact-bad-number", f"{text!r} is not a number", segment))
    return None


@dataclass(frozen=True, slots=True)
class _Dated:
    value: date | None
    confidence: float


def _read_dtm(segment: _Segment, problems: list[Problem]) -> _Dated:
    """The date of a DTM; with no or a contradicting format code the length decides, with lower confidence."""
    text, code = segment.value(0, 1), segment.value(0, 2)
    try:
        return _Dated(parse_edifact_date(text, code), 1.0)
    except ValueError:
        pass
    inferred = _FORMAT_BY_LENGTH.get(len(text)) if text.isdigit() else None
    if inferred is not None:
        try:
            found = parse_edifact_date(text, inferred)
        except ValueError:
            pass
        else:
            said = f"does not fit format {code}" if code else "has no format code"
            message = f"{text!r} {said}; read as format {inferred}"
            problems.append(_problem("edifact-date-format-inferred", message, segment))
            return _Dated(found, FALLBACK_CONFIDENCE)
    problems.append(_problem("edifact-bad-date", f"{text!r} is not a date in format {code or '(none)'}", segment))
    return _Dated(None, 1.0)


# --------------------------------------------------------------------------------------------- lines


def _read_line(group: list[_Segment], rules: _Rules, problems: list[Problem]) -> ParsedLine:
    lin = group[0]
    line = ParsedLine()
    if lin.value(0).isdigit():
        _set(line, "line", lin.value(0), Provenance(lin.source()))
    elif lin.value(0):
        problems.append(_problem("edifact-bad-line-number", f"LIN position {lin.value(0)!r} is not a number", lin))
    _read_status(line, lin)
    _read_ids(line, group)
    _read_description(line, group)
    _read_quantity(line, group, rules, problems)
    _read_price(line, group, problems)
    _read_delivery(line, group, rules, problems)
    _read_po_line(line, group)
    return line


def _read_status(line: ParsedLine, lin: _Segment) -> None:
    status = _LINE_STATUS.get(lin.value(1))
    if status is not None:
        _set(line, "status", status, Provenance(lin.source()))


def _read_ids(line: ParsedLine, group: list[_Segment]) -> None:
    lin = group[0]
    if lin.value(2):
        _add_id(line, lin.value(2, 0), lin.value(2, 1), lin)
    for pia in group:
        if pia.tag == "PIA" and pia.qualifier in _PIA_FUNCTIONS:
            for element in range(1, len(pia.elements)):
                _add_id(line, pia.value(element, 0), pia.value(element, 1), pia)


def _add_id(line: ParsedLine, number: str, type_code: str, segment: _Segment) -> None:
    if not number:
        return
    if type_code in _BUYER_ID_TYPES and line.item is None:
        _set(line, "item", number, Provenance(segment.source()))
    elif type_code in _SUPPLIER_ID_TYPES and line.supplier_item is None:
        _set(line, "supplier_item", number, Provenance(segment.source()))
    elif number not in line.other_ids:
        confidence = 1.0 if type_code else FALLBACK_CONFIDENCE
        line.provenance[f"other_ids[{len(line.other_ids)}]"] = Provenance(segment.source(), confidence)
        line.other_ids = (*line.other_ids, number)


def _read_description(line: ParsedLine, group: list[_Segment]) -> None:
    imds = [imd for imd in group if imd.tag == "IMD" and (imd.value(2, 3) or imd.value(2, 4))]
    if imds:
        text = " ".join(part for imd in imds for part in (imd.value(2, 3), imd.value(2, 4)) if part)
        _set(line, "description", text, Provenance(imds[0].source()))


def _read_quantity(line: ParsedLine, group: list[_Segment], rules: _Rules, problems: list[Problem]) -> None:
    qty = _qualified(group, "QTY", rules.quantity)
    if qty is None:
        return
    quantity = _decimal(qty.value(0, 1), qty, problems)
    if quantity is not None:
        _set(line, "quantity", quantity, Provenance(qty.source()))
    if qty.value(0, 2):
        _set(line, "uom", qty.value(0, 2), Provenance(qty.source()))


def _read_price(line: ParsedLine, group: list[_Segment], problems: list[Problem]) -> None:
    pri = _qualified(group, "PRI", _PRICE_QUALIFIERS)
    if pri is None:
        return
    price = _decimal(pri.value(0, 1), pri, problems)
    basis = _decimal(pri.value(0, 4), pri, problems) if pri.value(0, 4) else Decimal(1)
    if price is None or basis is None:
        return
    if basis == 0:
        problems.append(_problem("edifact-bad-number", "the price basis quantity is 0", pri))
        return
    _set(line, "unit_price", price / basis, Provenance(pri.source()))


def _read_delivery(line: ParsedLine, group: list[_Segment], rules: _Rules, problems: list[Problem]) -> None:
    dtm = _qualified(group, "DTM", rules.delivery)
    if dtm is None:
        return
    dated = _read_dtm(dtm, problems)
    if dated.value is not None:
        _set(line, "delivery_date", dated.value, Provenance(dtm.source(), dated.confidence))


def _read_po_line(line: ParsedLine, group: list[_Segment]) -> None:
    rff = _qualified(group, "RFF", ("LI",))
    if rff is not None and rff.value(0, 1):
        _set(line, "po_line", rff.value(0, 1), Provenance(rff.source()))
        return
    order = next((r for r in group if r.tag == "RFF" and r.qualifier == "ON" and r.value(0, 2)), None)
    if order is not None:
        _set(line, "po_line", order.value(0, 2), Provenance(order.source()))


# --------------------------------------------------------------------------------------------- documents


def _read_document(message: _Message, kind: DocumentKind, problems: list[Problem]) -> ParsedDocument:
    rules = _RULES[kind]
    parts = _split_parts(message.body)
    doc = ParsedDocument(kind=kind, parser=NAME)
    _read_sender(doc, message.interchange)
    _read_bgm(doc, parts.header, message, problems)
    _read_header_date(doc, parts.header, rules, problems)
    _read_currency(doc, parts.header, problems)
    _read_total(doc, parts.summary, rules, problems)
    doc.lines = [_read_line(group, rules, problems) for group in parts.lines]
    _apply_message_status(doc, parts.header)
    _apply_header_delivery(doc, parts.header, rules, problems)
    _read_po_number(doc, parts, problems)
    _read_supplier_order_number(doc, parts.header)
    _read_payment_terms(doc, parts.header)
    _check_line_count(doc, parts.summary, problems)
    _check_trailer(message, problems)
    return doc


def _read_sender(doc: ParsedDocument, interchange: _Interchange) -> None:
    unb = interchange.unb
    if unb is not None and unb.value(1):
        _set(doc, "sender", unb.value(1), Provenance(unb.source()))


def _read_bgm(doc: ParsedDocument, header: list[_Segment], message: _Message, problems: list[Problem]) -> None:
    bgm = _first(header, "BGM")
    if bgm is None:
        problems.append(_problem("edifact-missing-bgm", f"{message.label} has no BGM: no document number", message.unh))
    elif bgm.value(1):
        _set(doc, "number", bgm.value(1), Provenance(bgm.source()))


def _read_header_date(doc: ParsedDocument, header: list[_Segment], rules: _Rules, problems: list[Problem]) -> None:
    dtm = _qualified(header, "DTM", rules.issue)
    if dtm is None:
        return
    dated = _read_dtm(dtm, problems)
    if dated.value is not None:
        _set(doc, "issue_date", dated.value, Provenance(dtm.source(), dated.confidence))


def _read_currency(doc: ParsedDocument, header: list[_Segment], problems: list[Problem]) -> None:
    cux = _first(header, "CUX")
    if cux is None or not cux.value(0, 1):
        return
    if _CURRENCY.fullmatch(cux.value(0, 1)):
        _set(doc, "currency", cux.value(0, 1), Provenance(cux.source()))
    else:
        problems.append(_problem("edifact-bad-currency", f"{cux.value(0, 1)!r} is not an ISO 4217 code", cux))


def _read_total(doc: ParsedDocument, summary: list[_Segment], rules: _Rules, problems: list[Problem]) -> None:
    moa = _qualified(summary, "MOA", rules.total)
    if moa is None:
        return
    total = _decimal(moa.value(0, 1), moa, problems)
    if total is not None:
        _set(doc, "total", total, Provenance(moa.source()))


def _apply_message_status(doc: ParsedDocument, header: list[_Segment]) -> None:
    bgm = _first(header, "BGM")
    status = _MESSAGE_STATUS.get(bgm.value(2)) if bgm else None
    if bgm is None or status is None:
        return
    _set(doc, "status", status, Provenance(bgm.source(" (message function)")))
    for line in doc.lines:
        if line.status is LineStatus.UNKNOWN:
            note = " (message function; the LIN states none)"
            _set(line, "status", status, Provenance(bgm.source(note), FALLBACK_CONFIDENCE))


def _apply_header_delivery(doc: ParsedDocument, header: list[_Segment], rules: _Rules, problems: list[Problem]) -> None:
    waiting = [line for line in doc.lines if line.delivery_date is None]
    dtm = _qualified(header, "DTM", rules.delivery) if waiting else None
    if dtm is None:
        return
    dated = _read_dtm(dtm, problems)
    if dated.value is None:
        return
    provenance = Provenance(dtm.source(" (header date; the line has none)"), FALLBACK_CONFIDENCE)
    for line in waiting:
        _set(line, "delivery_date", dated.value, provenance)


def _read_payment_terms(doc: ParsedDocument, header: list[_Segment]) -> None:
    """PAT+1 (basic) or +3 (fixed date): C112 periods of type D (days), W (weeks) or M (months) after the reference."""
    pat = _qualified(header, "PAT", ("1", "3"))
    periods, unit = (pat.value(2, 3), pat.value(2, 2)) if pat else ("", "")
    if pat is None or not periods.isdigit() or unit not in _PERIOD_DAYS:
        return
    _set(doc, "payment_terms", f"net {int(periods) * _PERIOD_DAYS[unit]} days", Provenance(pat.source()))


def _read_supplier_order_number(doc: ParsedDocument, header: list[_Segment]) -> None:
    rff = _qualified(header, "RFF", ("VN",))
    if rff is not None and rff.value(0, 1):
        _set(doc, "supplier_order_number", rff.value(0, 1), Provenance(rff.source()))


def _read_po_number(doc: ParsedDocument, parts: _Parts, problems: list[Problem]) -> None:
    rff = _qualified(parts.header, "RFF", ("ON",))
    if rff is not None and rff.value(0, 1):
        _set(doc, "po_number", rff.value(0, 1), Provenance(rff.source()))
        return
    line_orders = [
        rff for group in parts.lines for rff in group if rff.tag == "RFF" and rff.qualifier == "ON" and rff.value(0, 1)
    ]
    if not line_orders:
        return
    first = line_orders[0]
    note = " (line reference; the header has none)"
    _set(doc, "po_number", first.value(0, 1), Provenance(first.source(note), FALLBACK_CONFIDENCE))
    others = sorted({r.value(0, 1) for r in line_orders} - {first.value(0, 1)})
    if others:
        problems.append(_problem("edifact-several-orders", f"lines also refer to orders {', '.join(others)}", first))


def _check_line_count(doc: ParsedDocument, summary: list[_Segment], problems: list[Problem]) -> None:
    cnt = _qualified(summary, "CNT", ("2",))
    if cnt is not None and cnt.value(0, 1) != str(len(doc.lines)):
        said = f"CNT says {cnt.value(0, 1) or '(nothing)'} line items, the message has {len(doc.lines)}"
        problems.append(_problem("edifact-cnt-count-mismatch", said, cnt))


def _check_trailer(message: _Message, problems: list[Problem]) -> None:
    unt = message.unt
    if unt is None:
        return
    counted = len(message.body) + 2
    declared = unt.value(0, 0)
    if not declared.isdigit() or int(declared) != counted:
        problems.append(_problem(
            "edifact-unt-count-mismatch", f"UNT says {declared or '(nothing)'} segments, the message has {counted}", unt
        ))
    # Some senders write UNT+n:ref instead of UNT+n+ref.
    reference = unt.value(1) or unt.value(0, 1)
    if reference != message.unh.value(0):
        problems.append(_problem(
            "edifact-unt-reference-mismatch",
            f"UNT names message {reference or '(nothing)'}, UNH named {message.unh.value(0)}",
            unt,
        ))


# --------------------------------------------------------------------------------------------- the parser


def _unterminated_problem(message: _Message) -> Problem:
    return _problem("edifact-unterminated-message", f"{message.label} has no UNT; it was not read", message.unh)


def _shared_problems(stream: _Stream, envelopes: _EnvelopeReader, text_problems: list[Problem]) -> list[Problem]:
    failure = [stream.failure] if stream.failure else []
    damaged = [_unterminated_problem(message) for message in envelopes.unterminated]
    return [*text_problems, *stream.problems, *failure, *envelopes.loose, *damaged]


def _nothing_readable(stream: _Stream, envelopes: _EnvelopeReader) -> ParseError:
    """The most specific reason a file gave no document."""
    if stream.failure is not None:
        return ParseError(stream.failure.message, code=stream.failure.code, location=stream.failure.location)
    supported_damaged = [m for m in envelopes.unterminated if m.type in _KINDS]
    if supported_damaged:
        first = supported_damaged[0]
        return ParseError(
            f"{first.label} has no UNT", code="edifact-unterminated-message", location=first.unh.where,
            hint="the message is cut off or its UNT is damaged",
        )
    found = [*envelopes.messages, *envelopes.unterminated]
    if not found:
        return ParseError(
            "no UNH message header found", code="edifact-no-message", location=f"segments 1 to {len(stream.segments)}",
            hint="an EDIFACT message starts with UNH+reference+TYPE:D:96A:UN",
        )
    types = ", ".join(sorted({m.type or "(no type)" for m in found}))
    return ParseError(
        f"the file holds only {types}; poguard reads {_SUPPORTED}",
        code="edifact-no-supported-message", location=found[0].unh.where,
    )


class EdifactParser:
    """Reads UN/EDIFACT (EANCOM and plain, D93A to D10A) ORDRSP, DESADV, INVOIC and ORDCHG messages."""

    name = NAME

    def sniff(self, raw: bytes) -> float:
        """0.95 for text opening with UNA or UNB, 0.9 for a UNH message header near the start, else 0.0."""
        head = raw[:_SNIFF_WINDOW].removeprefix(_BOM).lstrip()
        if head.startswith((b"UNA", b"UNB")):
            return 0.95
        return 0.9 if _UNH_NEAR_START.search(head) else 0.0

    def parse(self, raw: bytes) -> list[ParsedDocument]:
        """One document per supported message; damaged neighbours are named as problems on each document."""
        text, text_problems = _decode(raw)
        if not text.strip():
            raise ParseError("the file is empty", code="edifact-no-message", location="line 1")
        stream = _read_stream(text.strip())
        envelopes = _EnvelopeReader().read(stream.segments)
        shared = _shared_problems(stream, envelopes, text_problems)
        documents = [
            self._document(message, shared) for message in envelopes.messages if message.type in _KINDS
        ]
        if not documents:
            raise _nothing_readable(stream, envelopes)
        return documents

    @staticmethod
    def _document(message: _Message, shared: list[Problem]) -> ParsedDocument:
        problems: list[Problem] = [*shared, *message.interchange.problems]
        doc = _read_document(message, _KINDS[message.type], problems)
        doc.problems = problems
        return doc
