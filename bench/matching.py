"""How the time to match one supplier document grows with the open PO lines in the store, on SQLite and PostgreSQL.

    .venv/bin/python bench/matching.py [--sizes 1000,10000,100000,1000000] [--backends sqlite,postgresql]
                                       [--runs 7] [--quick] [--pg-url URL]

Each backend and size gets an empty store migrated by `open_store` (a temporary SQLite file, or a fresh
PostgreSQL schema dropped afterwards), bulk-loaded with generated POs of 10 lines each spread over 50
suppliers, `po_key` set as the importer sets it, then analysed. Items are unique per PO line, so a document
without a reference points at exactly one PO.

Measured, after one warm-up, as best and median of K runs, each in a transaction rolled back so every run
sees the same store (the inbound row the documents hang on is committed once, before):

- *referenced*: `pipeline._store_document` for a confirmation of three lines whose reference is messy
  (`PO# 4500-...`): the pipeline's whole step for one parsed document (supplier from the sender, find the
  PO, load its lines, match, history, rules, store document, matches and exceptions); parsing is left out;
- *unreferenced*: the same for a confirmation with no PO reference, whose PO `rank_orders` finds among
  the supplier's POs;
- where the time goes: `pipeline._order` (find the PO and load its lines) for the referenced document,
  `repository.candidate_orders` (the supplier's POs holding the document's items, by indexed item keys), and the pure
  `rank_orders` over what it returned.

Figures are printed, not asserted (STYLE.md, "Tests").
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, create_engine, insert, text
from sqlalchemy.orm import Session

# `python bench/matching.py` puts bench/ first on sys.path, where bench/parsers.py would stand in for the
# `parsers` package (which the pipeline imports too).
BENCH = Path(__file__).resolve().parent
sys.path = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]

import parsers  # noqa: E402
from matcher import compact_id, document_item_keys, normalise_po_reference, rank_orders  # noqa: E402
from poguard import pipeline, repository  # noqa: E402
from poguard.config import Config  # noqa: E402
from poguard.domain import ParsedDocument  # noqa: E402
from poguard.pipeline import Arrival  # noqa: E402
from poguard.store import Store, open_store, temporary_schema  # noqa: E402
from poguard.tables import InboundFile, POLineRow, PurchaseOrderRow, SupplierRow  # noqa: E402

SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
BACKENDS = ("sqlite", "postgresql")
RUNS, QUICK_RUNS = 7, 5
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

SUPPLIERS = 50
LINES_PER_PO = 10
DOCUMENT_LINES = 3
FIRST_PO = 4_500_000_000
POS_PER_BATCH = 10_000
BUYER_GLN = "4098765000009"
TODAY = date(2026, 12, 10)
DESCRIPTIONS = (
    "Hex bolt M8x40 8.8 zinc plated", "Hex nut M8 class 8 zinc plated", "Washer M8 DIN 125 zinc plated",
    "PA66 GF30 granulate black", "Deep groove ball bearing 6204 2RS", "Socket cap screw M6x20 12.9",
    "O-ring 20x2 NBR 70", "Spring pin 4x24 ISO 8752", "Threaded rod M10 1m A2", "Cable tie 200x4.8 black",
)

console = Console(width=132)


@dataclass(frozen=True, slots=True)
class Timing:
    best: float
    median: float


@dataclass(frozen=True, slots=True)
class Result:
    backend: str
    size: int
    load: float
    referenced: Timing
    unreferenced: Timing
    find_referenced: Timing
    candidate_orders: Timing
    rank_orders: Timing


# --- generated POs -----------------------------------------------------------------------------------------


def _supplier_id(number: int) -> str:
    return f"S{number:02d}"


def _edi_id(number: int) -> str:
    return f"54123450{number:05d}"


def _po_number(po_index: int) -> str:
    return str(FIRST_PO + po_index)


def _supplier_of(po_index: int) -> int:
    return po_index % SUPPLIERS


def _suppliers() -> list[dict[str, Any]]:
    return [
        {"supplier_id": _supplier_id(n), "name": f"Supplier {n}", "emails": [f"orders@supplier{n}.example"],
         "edi_ids": [_edi_id(n)], "lead_time_days": 10, "country": "DE"}
        for n in range(SUPPLIERS)
    ]


def _purchase_order(po_index: int) -> dict[str, Any]:
    number = _po_number(po_index)
    return {"po_number": number, "po_key": normalise_po_reference(number),
            "supplier_id": _supplier_id(_supplier_of(po_index)), "po_date": date(2026, 11, 10)}


def _po_line(po_index: int, line: int) -> dict[str, Any]:
    item, supplier_item = f"IT-{po_index:07d}-{line:02d}", f"SI-{po_index:07d}-{line:02d}"
    return {
        "po_number": _po_number(po_index), "line": line, "item": item, "supplier_item": supplier_item,
        "item_key": compact_id(item), "supplier_item_key": compact_id(supplier_item),
        "description": DESCRIPTIONS[(po_index + line) % len(DESCRIPTIONS)],
        "quantity": Decimal(100 * line), "uom": "EA", "unit_price": Decimal("0.25") * line, "currency": "USD",
        "need_by": date(2027, 1, 15), "buyer": f"buyer{_supplier_of(po_index)}@example-mfg.com",
        "required_docs": [], "item_group": "fasteners",
    }


# --- stores --------------------------------------------------------------------------------------------------


@contextmanager
def _sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="poguard-bench-") as directory:
        yield f"sqlite:///{Path(directory, 'poguard.db').as_posix()}"


@contextmanager
def _empty_store(backend: str, pg_url: str) -> Iterator[Store]:
    with _sqlite_url() if backend == "sqlite" else temporary_schema(pg_url) as url:
        store = open_store(url)
        try:
            yield store
        finally:
            store.dispose()


def _load_orders(connection: Connection, pos: int) -> None:
    """Insert `pos` POs and their lines, batch by batch (Core executemany, no ORM objects)."""
    for start in range(0, pos, POS_PER_BATCH):
        batch = range(start, min(start + POS_PER_BATCH, pos))
        connection.execute(insert(PurchaseOrderRow), [_purchase_order(p) for p in batch])
        connection.execute(insert(POLineRow), [_po_line(p, n) for p in batch for n in range(1, LINES_PER_PO + 1)])


def _load(store: Store, size: int) -> float:
    """Seconds to bulk-load `size` PO lines and refresh the planner's statistics."""
    started = time.perf_counter()
    with store.engine.begin() as connection:
        connection.execute(insert(SupplierRow), _suppliers())
        _load_orders(connection, size // LINES_PER_PO)
    with store.engine.begin() as connection:
        for table in (SupplierRow, PurchaseOrderRow, POLineRow):
            connection.execute(text(f"ANALYZE {table.__tablename__}"))
    return time.perf_counter() - started


# --- documents -----------------------------------------------------------------------------------------------


def _line_segments(po_index: int, line: int) -> list[str]:
    """One confirmed line; line 1 at a higher price than ordered, so the rules raise one deviation."""
    ordered = _po_line(po_index, line)
    price = ordered["unit_price"] + (Decimal("0.01") if line == 1 else 0)
    return [
        f"LIN+{line}+5+{ordered['supplier_item']}:SA", f"PIA+1+{ordered['item']}:IN",
        f"IMD+F++:::{ordered['description']}", f"QTY+21:{ordered['quantity']}:PCE", "DTM+2:20270115:102",
        f"PRI+AAA:{price}", f"RFF+LI:{line}",
    ]


def _ordrsp(po_index: int, reference: str | None) -> bytes:
    """An EDIFACT confirmation of the PO's first lines from its supplier, naming the PO by `reference` (or not)."""
    sender = _edi_id(_supplier_of(po_index))
    message = [
        "UNH+1+ORDRSP:D:96A:UN:EAN005", f"BGM+231+OR-{po_index}+4", "DTM+137:20261210:102",
        *([f"RFF+ON:{reference}"] if reference else []), f"RFF+VN:OR-{po_index}",
        f"NAD+BY+{BUYER_GLN}::9", f"NAD+SU+{sender}::9", "CUX+2:USD:9",
        *(segment for line in range(1, DOCUMENT_LINES + 1) for segment in _line_segments(po_index, line)),
        "UNS+S", f"CNT+2:{DOCUMENT_LINES}",
    ]
    message.append(f"UNT+{len(message) + 1}+1")
    unb = f"UNB+UNOC:3+{sender}:14+{BUYER_GLN}:14+261210:0930+B{po_index}"
    segments = ["UNA:+.? ", unb, *message, f"UNZ+1+B{po_index}"]
    return "'\n".join(segments).encode() + b"'\n"


def _messy_reference(po_index: int) -> str:
    number = _po_number(po_index)
    return f"PO# {number[:4]}-{number[4:]}"


def _parsed(raw: bytes) -> ParsedDocument:
    (doc,) = parsers.parse(raw)
    return doc


# --- timing --------------------------------------------------------------------------------------------------


def _timing(call: Callable[[], object], runs: int) -> Timing:
    """Best and median seconds of `runs` calls, after one warm-up call and a full garbage collection."""
    call()
    gc.collect()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return Timing(min(samples), statistics.median(samples))


def _rolled_back(store: Store, step: Callable[[Session], object]) -> Callable[[], None]:
    """`step` in a transaction of its own that is rolled back, so the store is the same for every run."""
    def call() -> None:
        with Session(store.engine) as session:
            step(session)
            session.rollback()
    return call


def _rank_orders_timing(store: Store, doc: ParsedDocument, supplier: str, runs: int) -> Timing:
    with Session(store.engine) as session:
        orders = repository.candidate_orders(session, supplier, document_item_keys(doc, {}))
    return _timing(lambda: rank_orders(doc, orders, {}), runs)


def _inbound_id(store: Store) -> int:
    """The one committed arrival the measured documents are stored under."""
    with store.transaction() as session:
        return pipeline.receive(session, Arrival("bench.edi", b"bench")).id


def _expect_po(store: Store, config: Config, doc: ParsedDocument, supplier: str, po_index: int) -> None:
    """Stop when the pipeline does not find the document's PO: the figures would time another path."""
    with Session(store.engine) as session:
        found = pipeline._order(session, config, doc, supplier, {}).po_number
    if found != _po_number(po_index):
        raise SystemExit(f"document {doc.number}: the pipeline found PO {found}, not {_po_number(po_index)}")


def _measure(store: Store, backend: str, size: int, load: float, runs: int) -> Result:
    referenced_po, unreferenced_po = size // LINES_PER_PO // 2, size // LINES_PER_PO // 2 + 1
    referenced = _parsed(_ordrsp(referenced_po, _messy_reference(referenced_po)))
    unreferenced = _parsed(_ordrsp(unreferenced_po, None))
    supplier = _supplier_id(_supplier_of(unreferenced_po))
    config, inbound_id = Config(), _inbound_id(store)
    keys = document_item_keys(unreferenced, {})
    context = pipeline._Context(config, TODAY, "bench")
    _expect_po(store, config, referenced, supplier, referenced_po)
    _expect_po(store, config, unreferenced, supplier, unreferenced_po)

    def store_document(doc: ParsedDocument) -> Callable[[Session], object]:
        return lambda session: pipeline._store_document(session, context, session.get(InboundFile, inbound_id), 0, doc)

    return Result(
        backend, size, load,
        referenced=_timing(_rolled_back(store, store_document(referenced)), runs),
        unreferenced=_timing(_rolled_back(store, store_document(unreferenced)), runs),
        find_referenced=_timing(_rolled_back(store, lambda s: pipeline._order(s, config, referenced, None, {})), runs),
        candidate_orders=_timing(_rolled_back(store, lambda s: repository.candidate_orders(s, supplier, keys)), runs),
        rank_orders=_rank_orders_timing(store, unreferenced, supplier, runs),
    )


def _run(backend: str, size: int, runs: int, pg_url: str) -> Result:
    with _empty_store(backend, pg_url) as store:
        console.print(f"[dim]{backend}: loading {size:,} PO lines...[/]")
        load = _load(store, size)
        console.print(f"[dim]{backend}: {size:,} PO lines loaded in {load:.1f} s; measuring...[/]")
        return _measure(store, backend, size, load, runs)


# --- report --------------------------------------------------------------------------------------------------


def _ms(timing: Timing) -> str:
    return f"{timing.best * 1000:.1f} / {timing.median * 1000:.1f}"


def _growth(result: Result, results: Sequence[Result]) -> str:
    """The referenced best time against the backend's smallest store: medians also carry disk (journal fsync)
    and scheduler noise, which says nothing about how the work grows."""
    first = min((r for r in results if r.backend == result.backend), key=lambda r: r.size)
    return f"{result.referenced.best / first.referenced.best:.2f}x"


def _main_table(results: Sequence[Result]) -> Table:
    smallest = min(r.size for r in results)
    table = Table(title="Matching one document (ms: best / median)")
    for column in ("backend", "open PO lines", "load s", "referenced ms", "unreferenced ms",
                   f"referenced growth (best) vs {smallest:,}"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for r in results:
        table.add_row(r.backend, f"{r.size:,}", f"{r.load:.1f}", _ms(r.referenced), _ms(r.unreferenced),
                      _growth(r, results))
    return table


def _parts_table(results: Sequence[Result]) -> Table:
    table = Table(title="Where the time goes (ms: best / median)")
    for column in ("backend", "open PO lines", "referenced: _order", "unreferenced: candidate_orders",
                   "unreferenced: rank_orders", "supplier's PO lines"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for r in results:
        table.add_row(r.backend, f"{r.size:,}", _ms(r.find_referenced), _ms(r.candidate_orders), _ms(r.rank_orders),
                      f"{r.size // SUPPLIERS:,}")
    return table


def _versions(backends: Sequence[str], pg_url: str) -> str:
    parts = [f"Python {platform.python_version()}", f"SQLAlchemy {sqlalchemy.__version__}"]
    if "sqlite" in backends:
        parts.append(f"SQLite {sqlite3.sqlite_version}")
    if "postgresql" in backends:
        engine = create_engine(pg_url)
        with engine.connect() as connection:
            parts.append(f"PostgreSQL {connection.execute(text('SHOW server_version')).scalar()}")
        engine.dispose()
        parts.append(f"psycopg {psycopg.__version__}")
    return ", ".join(parts)


# --- command line --------------------------------------------------------------------------------------------


def _sizes(value: str) -> tuple[int, ...]:
    return tuple(int(size) for size in value.split(","))


def _backends(value: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in value.split(","))
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown backend {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
    return names


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=SIZES, help="open PO lines per store, comma-separated")
    parser.add_argument("--backends", type=_backends, default=BACKENDS, help="sqlite, postgresql or both")
    parser.add_argument("--runs", type=int, default=RUNS, help="timed runs per figure, after one warm-up")
    parser.add_argument("--quick", action="store_true", help=f"CI smoke run: sizes {QUICK_SIZES}, {QUICK_RUNS} runs")
    parser.add_argument("--pg-url", default=os.environ.get("POGUARD_TEST_PG_URL", DEFAULT_PG_URL))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    sizes = QUICK_SIZES if args.quick else args.sizes
    runs = QUICK_RUNS if args.quick else args.runs
    console.print(_versions(args.backends, args.pg_url))
    console.print(f"{SUPPLIERS} suppliers, {LINES_PER_PO} lines per PO, documents of {DOCUMENT_LINES} lines, "
                  f"1 warm-up + {runs} runs")
    started = time.perf_counter()
    results = [_run(backend, size, runs, args.pg_url) for backend in args.backends for size in sizes]
    console.print(_main_table(results))
    console.print(_parts_table(results))
    console.print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
