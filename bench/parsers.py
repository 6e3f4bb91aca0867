"""Parser throughput: documents per second through `parsers.parse`, and how much slower that is than the bare
library call underneath each format.

Run from the repo root: `.venv/bin/python bench/parsers.py [--quick]`. Every workload is generated here from a
fixed seed, so two runs parse the same bytes. Each parse result is checked (documents, PO numbers, line counts,
quantity sums, no problems on clean input) before anything is timed; a wrong result ends the run with exit code 1.
"""

from __future__ import annotations

import argparse
import base64
import csv
import email
import email.policy
import functools
import io
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from email.message import Message
from importlib.metadata import version
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# This script is named like the package it measures: `import parsers` must find the repo's, not this file.
sys.path = [str(BENCH.parent), *(entry for entry in sys.path if Path(entry or ".").resolve() != BENCH)]

import pdfplumber  # noqa: E402
import spacy  # noqa: E402
from pydifact.tokenizer import Tokenizer  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402
from rich.box import SIMPLE_HEAD  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.table import Table  # noqa: E402
from spacy.language import Language  # noqa: E402
from spacy.tokens import Doc  # noqa: E402

import parsers  # noqa: E402
from poguard.domain import ParsedDocument  # noqa: E402
from poguard.errors import ParseError  # noqa: E402

SEED = 20261125
WIDTH = 110
"""Columns of the report when stdout is not a terminal (a CI log)."""
ISSUED = date(2027, 1, 18)
"""Issue date of every generated document; its day (18) tells month-first dates from day-first ones."""

SUPPLIER_ID = "5412345000013"
BUYER_ID = "4098765000009"
UNA = "UNA:+.? '"

_PRODUCTS = (
    ("HX", "Hex bolt M{size} 8.8 zinc plated"),
    ("NT", "Hex nut M{size} class 8 zinc plated"),
    ("WS", "Washer M{size} DIN 125 zinc plated"),
    ("SC", "Socket head screw M{size} A2 stainless"),
)


# --------------------------------------------------------------------------------------------- what is generated


@dataclass(frozen=True, slots=True)
class Item:
    """One line of a generated document."""

    number: int
    buyer_item: str
    supplier_item: str
    description: str
    quantity: int
    price: Decimal
    delivery: date

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.price


@dataclass(frozen=True, slots=True)
class Order:
    """What one generated document says: a PO number, the supplier's document number and its lines."""

    po_number: str
    serial: int
    items: tuple[Item, ...]

    @property
    def number(self) -> str:
        return f"SO-{self.serial:05d}"

    @property
    def total(self) -> Decimal:
        return sum((item.amount for item in self.items), Decimal(0))


@dataclass(frozen=True, slots=True)
class Sample:
    """The bytes of one generated file and the order they must parse into (one document each)."""

    raw: bytes
    order: Order


Writer = Callable[[Order], bytes]
"""Writes the file (EDIFACT, X12, PDF, e-mail, text or CSV bytes) that says what an order says."""


def _order(rng: random.Random, lines: int) -> Order:
    items = tuple(_item(rng, number) for number in range(1, lines + 1))
    return Order(f"45{rng.randrange(10**8):08d}", rng.randrange(1, 10**5), items)


def _item(rng: random.Random, number: int) -> Item:
    code, description = rng.choice(_PRODUCTS)
    size = rng.choice((5, 6, 8, 10, 12))
    return Item(
        number=number,
        buyer_item=f"FAS-{code}{size}-{number:04d}",
        supplier_item=f"GLF-{code}-{size}{number:04d}",
        description=description.format(size=size),
        quantity=rng.randrange(1, 200) * 50,
        price=Decimal(rng.randrange(1, 5000)).scaleb(-2),
        delivery=ISSUED + timedelta(days=rng.randrange(7, 90)),
    )


# --------------------------------------------------------------------------------------------- EDIFACT


def _edifact(order: Order, message_type: str, header: list[str], line: Callable[[Item], list[str]],
             summary: list[str]) -> bytes:
    """One interchange holding one message; UNT counts the message's segments as written."""
    body = [f"UNH+1+{message_type}:D:96A:UN:EAN005", *header]
    body += [segment for item in order.items for segment in line(item)]
    body += [*summary, f"CNT+2:{len(order.items)}"]
    segments = [
        UNA,
        f"UNB+UNOC:3+{SUPPLIER_ID}:14+{BUYER_ID}:14+{ISSUED:%y%m%d}:0930+{order.number}",
        *body,
        f"UNT+{len(body) + 1}+1",
        f"UNZ+1+{order.number}",
    ]
    return "\n".join([segments[0], *(segment + "'" for segment in segments[1:])]).encode("ascii")


def _edifact_parties() -> list[str]:
    return [f"NAD+BY+{BUYER_ID}::9", f"NAD+SU+{SUPPLIER_ID}::9"]


def edifact_ordrsp(order: Order) -> bytes:
    header = [f"BGM+231+{order.number}+29", f"DTM+137:{ISSUED:%Y%m%d}:102", f"RFF+ON:{order.po_number}",
              *_edifact_parties(), "CUX+2:USD:9"]
    return _edifact(order, "ORDRSP", header, lambda item: [
        f"LIN+{item.number}+5+{item.supplier_item}:SA",
        f"PIA+1+{item.buyer_item}:IN",
        f"IMD+F++:::{item.description}",
        f"QTY+21:{item.quantity}:PCE",
        f"DTM+2:{item.delivery:%Y%m%d}:102",
        f"PRI+AAA:{item.price}",
        f"RFF+LI:{item.number}",
    ], ["UNS+S", f"MOA+79:{order.total}"])


def edifact_desadv(order: Order) -> bytes:
    header = [f"BGM+351+{order.number}+9", f"DTM+137:{ISSUED:%Y%m%d}:102", f"DTM+17:{ISSUED:%Y%m%d}:102",
              f"RFF+ON:{order.po_number}", *_edifact_parties(), "CPS+1", "PAC+1++201"]
    return _edifact(order, "DESADV", header, lambda item: [
        f"LIN+{item.number}++{item.supplier_item}:SA",
        f"PIA+1+{item.buyer_item}:IN",
        f"QTY+12:{item.quantity}:PCE",
        f"RFF+ON:{order.po_number}:{item.number}",
    ], [])


def edifact_invoic(order: Order) -> bytes:
    header = [f"BGM+380+{order.number}+9", f"DTM+137:{ISSUED:%Y%m%d}:102", f"DTM+35:{ISSUED:%Y%m%d}:102",
              f"RFF+ON:{order.po_number}", *_edifact_parties(), "CUX+2:USD:4"]
    return _edifact(order, "INVOIC", header, lambda item: [
        f"LIN+{item.number}++{item.supplier_item}:SA",
        f"PIA+1+{item.buyer_item}:IN",
        f"QTY+47:{item.quantity}:PCE",
        f"MOA+203:{item.amount}",
        f"PRI+AAA:{item.price}",
        f"RFF+LI:{item.number}",
    ], ["UNS+S", f"MOA+79:{order.total}", f"MOA+77:{order.total}"])


def bare_edifact(raw: bytes) -> int:
    """pydifact's tokenizer alone, on the text after the UNA (ours declares pydifact's default characters).

    The tokens are counted, not kept: our parser streams them too, and a list of 20,000 tokens costs a third more
    in garbage collection passes than the tokenizing itself."""
    return sum(1 for _ in Tokenizer().get_tokens(raw.decode("ascii").removeprefix(UNA).lstrip()))


# --------------------------------------------------------------------------------------------- X12


def _x12(order: Order, code: str, group: str, body: list[str]) -> bytes:
    """One interchange, one group, one transaction set; SE counts the set's segments as written."""
    control = order.serial
    transaction = [f"ST*{code}*0001", *body]
    segments = [
        f"ISA*00*          *00*          *ZZ*{SUPPLIER_ID:<15}*ZZ*{BUYER_ID:<15}*{ISSUED:%y%m%d}*0930*U*00401"
        f"*{control:09d}*0*P*>",
        f"GS*{group}*{SUPPLIER_ID}*{BUYER_ID}*{ISSUED:%Y%m%d}*0930*{control}*X*004010",
        *transaction,
        f"SE*{len(transaction) + 1}*0001",
        f"GE*1*{control}",
        f"IEA*1*{control:09d}",
    ]
    return "".join(segment + "~\n" for segment in segments).encode("ascii")


def _x12_ids(item: Item) -> str:
    return f"BP*{item.buyer_item}*VP*{item.supplier_item}"


def x12_855(order: Order) -> bytes:
    body = [f"BAK*00*AC*{order.po_number}*{ISSUED:%Y%m%d}****{order.number}*{ISSUED:%Y%m%d}", "CUR*SE*USD"]
    for item in order.items:
        body += [
            f"PO1*{item.number}*{item.quantity}*EA*{item.price}*PE*{_x12_ids(item)}",
            f"PID*F****{item.description.upper()}",
            f"ACK*IA*{item.quantity}*EA*067*{item.delivery:%Y%m%d}",
        ]
    body += [f"CTT*{len(order.items)}*{sum(item.quantity for item in order.items)}", f"AMT*TT*{order.total}"]
    return _x12(order, "855", "PR", body)


def x12_856(order: Order) -> bytes:
    body = [f"BSN*00*{order.number}*{ISSUED:%Y%m%d}*0930*0001", "HL*1**S", f"DTM*011*{ISSUED:%Y%m%d}",
            "HL*2*1*O", f"PRF*{order.po_number}***{ISSUED:%Y%m%d}"]
    for item in order.items:
        body += [
            f"HL*{item.number + 2}*2*I",
            f"LIN*{item.number}*{_x12_ids(item)}",
            f"SN1**{item.quantity}*EA",
            f"PID*F****{item.description.upper()}",
        ]
    body.append(f"CTT*{len(order.items) + 2}")
    return _x12(order, "856", "SH", body)


def x12_810(order: Order) -> bytes:
    body = [f"BIG*{ISSUED:%Y%m%d}*{order.number}*{ISSUED:%Y%m%d}*{order.po_number}", "CUR*SE*USD"]
    for item in order.items:
        body += [
            f"IT1*{item.number}*{item.quantity}*EA*{item.price}*PE*{_x12_ids(item)}",
            f"PID*F****{item.description.upper()}",
        ]
    body += [f"TDS*{order.total.scaleb(2):f}", f"CTT*{len(order.items)}"]
    return _x12(order, "810", "IN", body)


def bare_x12(raw: bytes) -> list[list[str]]:
    """No library underneath: our tokenizer is our own, so the floor is a plain split on `~` and `*`."""
    return [segment.split("*") for segment in raw.decode("ascii").split("~")]


# --------------------------------------------------------------------------------------------- PDF


@dataclass(frozen=True, slots=True)
class _Cell:
    x: float
    text: str
    right: bool = False


_PDF_TOP = A4[1] - 50
_PDF_BOTTOM = 60
_PDF_LEADING = 1.6
"""Line height as a multiple of the font size."""
_PDF_HEADER = (
    _Cell(40, "Line"), _Cell(75, "Item"), _Cell(150, "Description"), _Cell(350, "Qty", True), _Cell(365, "UoM"),
    _Cell(440, "Unit Price", True), _Cell(455, "Ship Date"), _Cell(555, "Amount", True),
)


def _pdf_row(item: Item) -> tuple[_Cell, ...]:
    return (
        _Cell(40, str(item.number)), _Cell(75, item.supplier_item), _Cell(150, item.description),
        _Cell(350, f"{item.quantity:,}", True), _Cell(365, "EA"), _Cell(440, f"{item.price}", True),
        _Cell(455, f"{item.delivery:%m/%d/%Y}"), _Cell(555, f"{item.amount:,.2f}", True),
    )


class _PdfWriter:
    """Prints lines top to bottom, starting a new page (and repeating the table header) when one is full."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.canvas = Canvas(self.buffer, pagesize=A4, invariant=1)
        self.y = _PDF_TOP

    def line(self, *cells: _Cell, size: float = 9, repeat: tuple[_Cell, ...] = ()) -> None:
        if self.y < _PDF_BOTTOM:
            self.canvas.showPage()
            self.y = _PDF_TOP
            if repeat:
                self.line(*repeat)
        self.canvas.setFont("Helvetica-Bold" if size > 9 else "Helvetica", size)
        for cell in cells:
            (self.canvas.drawRightString if cell.right else self.canvas.drawString)(cell.x, self.y, cell.text)
        self.y -= size * _PDF_LEADING

    def close(self) -> bytes:
        self.canvas.save()
        return self.buffer.getvalue()


def pdf_confirmation(order: Order) -> bytes:
    """An order confirmation as a supplier's ERP prints it; the line table header repeats on every page."""
    pdf = _PdfWriter()
    pdf.line(_Cell(40, "Great Lakes Fasteners Inc."), _Cell(380, "1200 Industrial Pkwy, Toledo, OH 43612"))
    pdf.line(_Cell(40, "ORDER CONFIRMATION"), size=18)
    pdf.line(_Cell(40, f"Confirmation No.: {order.number}"), _Cell(330, f"Date: {ISSUED:%m/%d/%Y}"))
    pdf.line(_Cell(40, f"Customer PO: {order.po_number}"), _Cell(330, "Sold to: Example Manufacturing Co."))
    pdf.line()
    pdf.line(*_PDF_HEADER)
    for item in order.items:
        pdf.line(*_pdf_row(item), repeat=_PDF_HEADER)
    pdf.line()
    pdf.line(_Cell(440, "Subtotal", True), _Cell(555, f"{order.total:,.2f}", True))
    pdf.line(_Cell(440, "Total USD", True), _Cell(555, f"{order.total:,.2f}", True))
    return pdf.close()


def bare_pdf(raw: bytes) -> str:
    with pdfplumber.open(io.BytesIO(raw)) as pdf:
        return "\n".join(page.extract_text() for page in pdf.pages)


# --------------------------------------------------------------------------------------------- e-mail and text

_MAIL_HEADERS = """\
Received: from mail.glfastener.com by mx.example-mfg.com; Mon, 18 Jan 2027 08:41:12 -0500
From: Mike Kowalski <orders@glfastener.com>
To: Anna Buyer <anna.buyer@example-mfg.com>
Subject: Order confirmation PO {po}
Date: Mon, 18 Jan 2027 08:41:07 -0500
Message-ID: <{number}@glfastener.com>
MIME-Version: 1.0
"""
_BOUNDARY = "=_glf_7f3a"


def text_body(order: Order) -> bytes:
    """A supplier's free-text confirmation: one sentence per line, US dates."""
    lines = [
        f"Line {item.number}: {item.quantity} pcs {item.supplier_item} at {item.price} USD, "
        f"delivery {item.delivery:%m/%d/%Y}."
        for item in order.items
    ]
    text = "\n".join([
        "Hi Anna,", "", f"We confirm your PO {order.po_number} as follows.", *lines, "",
        "Best regards,", "Mike Kowalski", "Customer Service | Great Lakes Fasteners Inc.", "",
    ])
    return text.encode("utf-8")


def eml_text(order: Order) -> bytes:
    headers = _MAIL_HEADERS.format(po=order.po_number, number=order.number)
    content = 'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: 7bit\n\n'
    return (headers + content).encode("ascii") + text_body(order)


def spreadsheet_csv(order: Order) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["PO", "Line", "Item", "Supplier Item", "Description", "Qty", "UoM", "Unit Price", "Currency",
                     "Delivery Date"])
    for item in order.items:
        writer.writerow([order.po_number, item.number, item.buyer_item, item.supplier_item, item.description,
                         item.quantity, "EA", item.price, "USD", item.delivery.isoformat()])
    return out.getvalue().encode("utf-8")


def eml_csv(order: Order) -> bytes:
    """A short cover note with the line table attached as CSV (base64)."""
    attachment = base64.encodebytes(spreadsheet_csv(order)).decode("ascii")
    parts = [
        _MAIL_HEADERS.format(po=order.po_number, number=order.number)
        + f'Content-Type: multipart/mixed; boundary="{_BOUNDARY}"\n',
        f"--{_BOUNDARY}",
        'Content-Type: text/plain; charset="us-ascii"\n',
        f"Dear Anna,\n\nWe confirm your order {order.po_number}, see the attached acknowledgement.\n\n"
        "Kind regards,\nGreat Lakes Fasteners\n",
        f"--{_BOUNDARY}",
        f'Content-Type: text/csv; name="ack_{order.po_number}.csv"',
        f'Content-Disposition: attachment; filename="ack_{order.po_number}.csv"',
        "Content-Transfer-Encoding: base64\n",
        attachment,
        f"--{_BOUNDARY}--\n",
    ]
    return "\n".join(parts).encode("ascii")


def bare_email(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=email.policy.default)


@functools.cache
def _blank_english() -> Language:
    return spacy.blank("en")


def bare_text(raw: bytes) -> Doc:
    """spaCy's blank English tokenizer, the first step of our text reader (which adds a sentencizer and matchers)."""
    return _blank_english()(raw.decode("utf-8"))


def bare_csv(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("utf-8")), delimiter=";"))


# --------------------------------------------------------------------------------------------- workloads


Sizes = tuple[tuple[int, int], ...]
"""(lines per document, documents) pairs: one workload each."""


@dataclass(frozen=True, slots=True)
class Format:
    """One kind of file: how to write it, which bare call to compare with, and the workloads to time."""

    name: str
    message: str
    write: Writer
    bare: Callable[[bytes], object]
    bare_call: str
    sizes: Sizes
    quick_sizes: Sizes


_EDIFACT = "pydifact Tokenizer().get_tokens(text after UNA), tokens counted as they come"
_X12 = "str.split on '~' then '*' (no library underneath: the tokenizer is our own)"
_PDF = "pdfplumber.open + extract_text() on every page"
_EMAIL = "email.message_from_bytes(raw, policy=default) (lazy: headers are parsed on access)"
_TEXT = "spacy.blank('en') tokenizer on the text"
_CSV = "csv.reader over the decoded text"

# Documents per size are chosen so that one pass takes 0.1 to 1 s in the full run.
_EDI_SIZES: Sizes = ((5, 100), (50, 20), (500, 3))
_EDI_QUICK: Sizes = ((5, 10), (50, 2))
_MAIL_SIZES: Sizes = ((2, 50), (10, 10), (50, 3))
_MAIL_QUICK: Sizes = ((2, 10), (10, 2))

FORMATS: tuple[Format, ...] = (
    Format("edifact", "ORDRSP", edifact_ordrsp, bare_edifact, _EDIFACT, _EDI_SIZES, _EDI_QUICK),
    Format("edifact", "DESADV", edifact_desadv, bare_edifact, _EDIFACT, _EDI_SIZES, _EDI_QUICK),
    Format("edifact", "INVOIC", edifact_invoic, bare_edifact, _EDIFACT, _EDI_SIZES, _EDI_QUICK),
    Format("x12", "855", x12_855, bare_x12, _X12, _EDI_SIZES, _EDI_QUICK),
    Format("x12", "856", x12_856, bare_x12, _X12, _EDI_SIZES, _EDI_QUICK),
    Format("x12", "810", x12_810, bare_x12, _X12, _EDI_SIZES, _EDI_QUICK),
    Format("pdf", "confirmation", pdf_confirmation, bare_pdf, _PDF, ((5, 10), (50, 3), (200, 1)), ((5, 3),)),
    Format("email", ".eml text", eml_text, bare_email, _EMAIL, _MAIL_SIZES, _MAIL_QUICK),
    Format("email", ".eml + CSV", eml_csv, bare_email, _EMAIL, _EDI_SIZES, _EDI_QUICK),
    Format("text", "free text", text_body, bare_text, _TEXT, _MAIL_SIZES, _MAIL_QUICK),
    Format("spreadsheet", "CSV", spreadsheet_csv, bare_csv, _CSV, _EDI_SIZES, _EDI_QUICK),
)

REPEATS = 5
QUICK_REPEATS = 3


def workload(fmt: Format, lines: int, documents: int) -> list[Sample]:
    """The same documents on every run: the seed names the format, message type and size."""
    rng = random.Random(f"{SEED}:{fmt.name}:{fmt.message}:{lines}")
    return [Sample(fmt.write(order), order) for order in (_order(rng, lines) for _ in range(documents))]


# --------------------------------------------------------------------------------------------- checks


class BenchFailure(Exception):
    """A parse failed or its result is not what was generated: the figures would measure a failure."""


def check(label: str, index: int, sample: Sample, documents: list[ParsedDocument]) -> None:
    """One document with the generated PO number, every line, the same quantities and no problem."""
    where = f"{label}, document {index + 1} (PO {sample.order.po_number})"
    if len(documents) != 1:
        raise BenchFailure(f"{where}: expected 1 document, parsed {len(documents)}")
    document, order = documents[0], sample.order
    if document.po_number != order.po_number:
        raise BenchFailure(f"{where}: expected PO {order.po_number}, parsed {document.po_number}")
    if len(document.lines) != len(order.items):
        raise BenchFailure(f"{where}: expected {len(order.items)} lines, parsed {len(document.lines)}")
    quantity = sum((line.quantity or Decimal(0) for line in document.lines), Decimal(0))
    expected = sum(item.quantity for item in order.items)
    if quantity != expected:
        raise BenchFailure(f"{where}: expected a quantity sum of {expected}, parsed {quantity}")
    if document.problems:
        codes = ", ".join(sorted({problem.code for problem in document.problems}))
        raise BenchFailure(f"{where}: clean input parsed with problems: {codes}")


def parse_and_check(label: str, samples: Sequence[Sample]) -> None:
    for index, sample in enumerate(samples):
        try:
            documents = parsers.parse(sample.raw)
        except ParseError as error:
            raise BenchFailure(f"{label}, document {index + 1}: parse failed: {error}") from error
        check(label, index, sample, documents)


def bare_and_check(label: str, bare: Callable[[bytes], object], samples: Sequence[Sample]) -> None:
    for index, sample in enumerate(samples):
        if not bare(sample.raw):
            raise BenchFailure(f"{label}, document {index + 1}: the bare call read nothing")


# --------------------------------------------------------------------------------------------- timing


@dataclass(frozen=True, slots=True)
class Result:
    """One workload's best time, in seconds, for one pass over all its documents: ours and the bare call's."""

    fmt: Format
    lines: int
    documents: int
    ours: float
    bare: float


def best_of(functions: Sequence[Callable[[bytes], object]], raws: Sequence[bytes], repeats: int) -> list[float]:
    """Each function's fastest of `repeats` passes over `raws`, in seconds. The functions take turns, pass by pass,
    so a machine that is busy for a moment slows both sides of a ratio alike."""
    best = [float("inf")] * len(functions)
    for _ in range(repeats):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            for raw in raws:
                function(raw)
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def measure(fmt: Format, lines: int, documents: int, repeats: int) -> Result:
    samples = workload(fmt, lines, documents)
    label = f"{fmt.name} {fmt.message}, {lines} lines"
    parse_and_check(label, samples)
    bare_and_check(label, fmt.bare, samples)
    ours, bare = best_of((parsers.parse, fmt.bare), [sample.raw for sample in samples], repeats)
    return Result(fmt, lines, documents, ours, bare)


def run(quick: bool) -> Iterator[Result]:
    repeats = QUICK_REPEATS if quick else REPEATS
    for fmt in FORMATS:
        for lines, documents in fmt.quick_sizes if quick else fmt.sizes:
            yield measure(fmt, lines, documents, repeats)


# --------------------------------------------------------------------------------------------- report


def environment(repeats: int) -> list[str]:
    libraries = ", ".join(f"{name} {version(name)}" for name in ("pydifact", "pdfplumber", "spacy", "reportlab"))
    return [
        f"Python {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}",
        f"CPUs: {os.cpu_count()}; {libraries}",
        f"Timing: time.perf_counter, best of {repeats} passes over each workload after one warm-up pass (the checked",
        f"parse), ours and bare taking turns. Ours: parsers.parse(raw), sniffing included. Seed {SEED}.",
    ]


def table(results: Sequence[Result], quick: bool) -> Table:
    report = Table(title="Parser throughput" + (" (--quick)" if quick else ""), title_justify="left", box=SIMPLE_HEAD)
    for name in ("Format", "Message", "Lines/doc", "Docs", "Docs/s ours", "Docs/s bare", "Ours/bare", "ms/doc ours"):
        report.add_column(name, justify="left" if name in ("Format", "Message") else "right", no_wrap=True)
    for result in results:
        report.add_row(
            result.fmt.name,
            result.fmt.message,
            str(result.lines),
            str(result.documents),
            f"{result.documents / result.ours:,.1f}",
            f"{result.documents / result.bare:,.1f}",
            f"{result.ours / result.bare:,.1f}x",
            f"{1000 * result.ours / result.documents:,.2f}",
        )
    return report


def bare_calls() -> list[str]:
    calls = dict.fromkeys(f"  {fmt.name}: {fmt.bare_call}" for fmt in FORMATS)
    return ["Bare call per format (Ours/bare: how many times slower our full parse is than this call):", *calls]


def main(argv: Sequence[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="a small workload in a few seconds (CI smoke run)")
    quick = options.parse_args(argv).quick
    # No live display while timing: rich refreshes it from a thread, which competes for the GIL.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else WIDTH)
    progress = Console(stderr=True, highlight=False)
    for line in environment(QUICK_REPEATS if quick else REPEATS):
        console.print(line)
    results: list[Result] = []
    try:
        for result in run(quick):
            progress.print(f"measured {result.fmt.name} {result.fmt.message}, {result.lines} lines", style="dim")
            results.append(result)
    except BenchFailure as failure:
        progress.print(f"[bold red]bench/parsers.py: FAILED:[/] {escape(str(failure))}", soft_wrap=True)
        return 1
    console.print(table(results, quick))
    for line in bare_calls():
        console.print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
