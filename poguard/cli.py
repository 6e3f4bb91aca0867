"""The command line: a public contract. Later versions extend it, never break it.

Exit codes: 0 success, 1 some input was rejected, 2 usage or configuration error.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import select
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

import parsers
from poguard import repository
from poguard.domain import ExceptionStatus, ParsedDocument
from poguard.config import DEFAULT_CONFIG_NAME, DEFAULT_DATABASE_URL, Config, load_config
from poguard.errors import ConfigError, InputRejected, PoguardError
from poguard.imports import read_po_lines, read_prices, read_suppliers
from ingest import open_sources
from outbound.delivery import DigestOutcome, deliver, release_claims, todays_digests
from outbound.smtp import SmtpSender
from poguard import lifecycle
from poguard.agent import Agent, RunReport
from poguard.channels import channel_status
from poguard.pipeline import Arrival, FileOutcome, Outcome, process_file, registry_for
from poguard.replay import apply_settings, changes_as_rows, replay
from poguard.serialize import document_to_dict
from poguard.store import Store, open_store
from poguard.tables import DocumentRow, ExceptionRow, SupplierRow, utcnow
from poguard.template import config_template

__all__ = ["ExitCode", "app"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="poguard: correct purchase orders before they commit.")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PIPED_WIDTH = 180


class ExitCode(IntEnum):
    OK = 0
    INPUT_REJECTED = 1
    USAGE_ERROR = 2


class StatusFilter(StrEnum):
    OPEN = "open"
    ALL = "all"


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@dataclass(slots=True)
class Settings:
    """What the global options resolved to."""

    config_path: Path | None
    db_url: str | None
    debug: bool

    def config(self) -> Config:
        return load_config(self.config_path)

    def database_url(self, config: Config) -> str:
        """--db, else POGUARD_DATABASE_URL, else the config's database.url, else the embedded default."""
        return self.db_url or os.environ.get("POGUARD_DATABASE_URL") or config.database.url or DEFAULT_DATABASE_URL

    def store(self, config: Config) -> Store:
        return open_store(self.database_url(config))

    @contextmanager
    def opened(self) -> Iterator[tuple[Config, Store]]:
        """The configuration and its store, disposed of afterwards."""
        config = self.config()
        store = self.store(config)
        try:
            yield config, store
        finally:
            store.dispose()


F = TypeVar("F", bound=Callable[..., Any])


def exits(command: F) -> F:
    """Map poguard's errors to one clear line on stderr and a named exit code; a traceback only with --debug."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PoguardError as error:
            if kwargs["ctx"].obj.debug:
                raise
            err.print(f"error: {error}", markup=False)
            code = ExitCode.USAGE_ERROR if isinstance(error, ConfigError) else ExitCode.INPUT_REJECTED
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", help=f"configuration file [default: ./{DEFAULT_CONFIG_NAME} when present]")] = None,
    db: Annotated[str | None, typer.Option("--db", help="database URL [default: POGUARD_DATABASE_URL, the config's database.url, sqlite:///poguard.db]")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log what happens, key=value")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False,
) -> None:
    """poguard reads supplier confirmations, ship notices and invoices, and flags deviations from your POs."""
    if config is None and Path(DEFAULT_CONFIG_NAME).is_file():
        config = Path(DEFAULT_CONFIG_NAME)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if not out.is_terminal:
        out.width = PIPED_WIDTH  # tables written to files or pipes are read whole, not in a terminal window
    ctx.obj = Settings(config, db, debug)


@app.command()
@exits
def init(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="where to write poguard.toml")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing poguard.toml")] = False,
) -> None:
    """Write a commented poguard.toml with every setting and its default, and create or migrate the database."""
    settings: Settings = ctx.obj
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / DEFAULT_CONFIG_NAME
    if target.exists() and not force:
        out.print(f"kept existing {target} (use --force to overwrite)")
    else:
        target.write_text(config_template(), encoding="utf-8")
        out.print(f"wrote {target}")
    config = load_config(target)
    if settings.db_url is None and not os.environ.get("POGUARD_DATABASE_URL") and config.database.url is None:
        settings.db_url = f"sqlite:///{(directory / 'poguard.db').as_posix()}"
    store = settings.store(config)
    out.print(f"database ready: {store.engine.url.render_as_string(hide_password=True)}")
    store.dispose()


def _import(settings: Settings, path: Path, read: Callable[[Path], list[Any]], upsert: Callable[..., dict[str, int]]) -> dict[str, int]:
    """Read every row first, then store them all in one transaction (or nothing)."""
    rows = read(path)
    with settings.opened() as (_, store), store.transaction() as session:
        return upsert(session, rows, f"import:{path.name}")


def _print_counts(path: Path, what: str, counts: dict[str, int]) -> None:
    out.print(f"{path}: {what}: {counts['added']} added, {counts['updated']} updated, {counts['unchanged']} unchanged")


@app.command("import-suppliers")
@exits
def import_suppliers(ctx: typer.Context, path: Annotated[Path, typer.Argument(help="CSV: supplier_id,name,emails,edi_ids,lead_time_days")]) -> None:
    """Insert or update suppliers from a CSV file; one bad row rejects the file."""
    _print_counts(path, "suppliers", _import(ctx.obj, path, read_suppliers, repository.upsert_suppliers))


@app.command("import-prices")
@exits
def import_prices(ctx: typer.Context, path: Annotated[Path, typer.Argument(help="CSV: supplier_id,item,unit_price,currency,valid_from,valid_to")]) -> None:
    """Insert or update contract prices from a CSV file; one bad row rejects the file."""
    _print_counts(path, "contract prices", _import(ctx.obj, path, read_prices, repository.upsert_prices))


@app.command("import-pos")
@exits
def import_pos(ctx: typer.Context, path: Annotated[Path, typer.Argument(help="CSV, one row per PO line (see README)")]) -> None:
    """Insert or update PO lines from a CSV file; one bad row rejects the file."""
    _print_counts(path, "PO lines", _import(ctx.obj, path, read_po_lines, repository.upsert_po_lines))


def _files(paths: list[Path]) -> Iterator[Path]:
    """The files named, and every file under the folders named, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.endswith(".expected.json"))
        else:
            yield path


def _process_paths(store: Store, config: Config, paths: list[Path]) -> list[FileOutcome]:
    files = list(_files(paths))
    outcomes = []
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("processing", total=len(files))
        for path in files:
            outcomes.append(_process_one(store, config, path))
            progress.advance(task)
    return outcomes


def _process_one(store: Store, config: Config, path: Path) -> FileOutcome:
    try:
        raw = path.read_bytes()
    except OSError as error:
        return FileOutcome(str(path), Outcome.REJECTED, error=f"cannot read file: {error.strerror or error}")
    return process_file(store, config, Arrival(str(path), raw), today=date.today(), actor="poguard process")


def _report(outcomes: list[FileOutcome]) -> bool:
    """Print one line per file; True when every file was accepted."""
    for o in outcomes:
        if o.outcome is Outcome.REJECTED:
            err.print(f"{o.name}: rejected: {o.error}", markup=False)
        elif o.outcome is Outcome.DUPLICATE:
            out.print(f"{o.name}: already processed, nothing added", markup=False)
        else:
            out.print(f"{o.name}: {o.documents} document(s), {o.exceptions} exception(s)", markup=False)
    return all(o.outcome is not Outcome.REJECTED for o in outcomes)


@app.command()
@exits
def process(ctx: typer.Context, paths: Annotated[list[Path], typer.Argument(help="files or folders, as if they had just arrived")]) -> None:
    """Read supplier files (EDIFACT, X12, ...), match them to POs and raise exceptions. Idempotent by content."""
    settings: Settings = ctx.obj
    with settings.opened() as (config, store):
        accepted = _report(_process_paths(store, config, paths))
    if not accepted:
        raise typer.Exit(ExitCode.INPUT_REJECTED)


EXCEPTION_FIELDS = (
    "id", "po_number", "line", "category", "severity", "status", "expected", "actual", "owner", "due",
    "supplier_id", "document", "message", "rule", "resolved_by", "escalated_to", "match",
)


def _document_label(document: DocumentRow | None) -> str:
    if document is None:
        return "(sweep)"
    label = " ".join(part for part in (document.kind, document.number) if part)
    return f"{label} ({Path(document.inbound.filename).name})"


def _exception_record(row: ExceptionRow, document: DocumentRow | None, match: str | None) -> dict[str, Any]:
    return {
        "id": row.id, "po_number": row.po_number, "line": row.line, "category": row.category,
        "severity": row.severity, "status": row.status, "expected": row.expected, "actual": row.actual,
        "owner": row.owner, "due": row.due.isoformat(), "supplier_id": row.supplier_id,
        "document": _document_label(document), "message": row.message, "rule": row.rule,
        "resolved_by": row.resolved_by, "escalated_to": row.escalated_to, "match": match,
    }


def _exception_records(store: Store, status: str | None) -> list[dict[str, Any]]:
    with store.transaction() as session:
        rows = repository.exceptions(session, status)
        return [_exception_record(row, session.get(DocumentRow, row.document_id) if row.document_id else None,
                                  repository.match_reason(session, row)) for row in rows]


TABLE_COLUMNS = ("po_number", "line", "category", "severity", "status", "expected", "actual", "owner", "due", "message")
LINE_COLUMNS = ("line", "item", "supplier_item", "description", "quantity", "uom", "unit_price", "delivery_date", "status")


KEEP_WHOLE = {"po_number", "line", "category", "severity", "status", "due", "quantity", "uom", "unit_price", "delivery_date"}


def _table(columns: tuple[str, ...], rows: Iterator[list[Any]]) -> Table:
    """A table whose short vocabulary columns never wrap; long text columns fold."""
    table = Table()
    for name in columns:
        table.add_column(name, no_wrap=name in KEEP_WHOLE, overflow="fold")
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    return table


def _print_records(records: list[dict[str, Any]], fmt: OutputFormat, fields: tuple[str, ...] = EXCEPTION_FIELDS,
                   table_columns: tuple[str, ...] = TABLE_COLUMNS) -> None:
    if fmt is OutputFormat.JSON:
        sys.stdout.write(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    elif fmt is OutputFormat.CSV:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        sys.stdout.write(buffer.getvalue())
    elif not records:
        out.print("nothing to show")
    else:
        out.print(_table(table_columns, ([r[k] for k in table_columns] for r in records)))


@app.command()
@exits
def exceptions(
    ctx: typer.Context,
    status: Annotated[StatusFilter, typer.Option("--status", help="open, or all")] = StatusFilter.OPEN,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, json or csv")] = OutputFormat.TABLE,
) -> None:
    """List exceptions: what deviates, how badly, who owns it and by when."""
    settings: Settings = ctx.obj
    with settings.opened() as (_, store):
        records = _exception_records(store, None if status is StatusFilter.ALL else status.value)
    _print_records(records, fmt)


DOCUMENT_FIELDS = ("id", "received_at", "kind", "number", "po_number", "supplier_id", "sender", "trust", "trust_reason",
                   "po_reason", "file", "channel")
DOCUMENT_COLUMNS = ("id", "kind", "number", "po_number", "supplier_id", "sender", "trust", "trust_reason", "file")


@app.command()
@exits
def documents(
    ctx: typer.Context,
    held: Annotated[bool, typer.Option("--held", help="only documents held because their sender is not verified")] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, json or csv")] = OutputFormat.TABLE,
) -> None:
    """List the supplier documents received: who sent them, whether poguard acts on them, and why."""
    settings: Settings = ctx.obj
    with settings.opened() as (_, store), store.transaction() as session:
        records = [_document_record(row) for row in repository.documents(session, held_only=held)]
    _print_records(records, fmt, DOCUMENT_FIELDS, DOCUMENT_COLUMNS)


def _document_record(row: DocumentRow) -> dict[str, Any]:
    return {
        "id": row.id, "received_at": row.created_at.isoformat(timespec="seconds"), "kind": row.kind, "number": row.number,
        "po_number": row.po_number, "supplier_id": row.supplier_id, "sender": row.sender, "trust": row.trust,
        "trust_reason": row.trust_reason, "po_reason": row.po_reason, "file": Path(row.inbound.filename).name,
        "channel": row.inbound.channel,
    }


@app.command()
@exits
def parse(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="supplier files to read")],
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Show what poguard reads from files, without storing anything."""
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format: expected table or json, got {fmt!r}")
    registry = registry_for(ctx.obj.config())
    documents, failed = [], False
    for path in files:
        try:
            found = parsers.parse(path.read_bytes(), registry)
            if not found:
                err.print(f"{path}: no supplier document in it", markup=False)
            documents.extend(found)
        except OSError as error:
            err.print(f"{path}: cannot read file: {error.strerror or error}", markup=False)
            failed = True
        except PoguardError as error:
            err.print(f"{path}: {error}", markup=False)
            failed = True
    if fmt == "json":
        sys.stdout.write(json.dumps([document_to_dict(d) for d in documents], indent=2, ensure_ascii=False) + "\n")
    else:
        _print_documents(documents)
    if failed:
        raise typer.Exit(ExitCode.INPUT_REJECTED)


def _print_documents(documents: list[ParsedDocument]) -> None:
    for doc in documents:
        out.print(f"{doc.kind.value} {doc.number or '?'} for PO {doc.po_number or '?'} from {doc.sender or '?'} "
                  f"({doc.parser}, {doc.issue_date or 'no date'}, {doc.currency or 'no currency'}, total {doc.total or '?'})",
                  markup=False)
        lines = document_to_dict(doc)["lines"]
        out.print(_table(LINE_COLUMNS, ([line[k] for k in LINE_COLUMNS] for line in lines)))
        for problem in doc.problems:
            out.print(f"  problem {problem.code}: {problem.message} ({problem.location or 'document'})", markup=False)


def _demo_documents() -> list[Path]:
    """The documents of the demo's story, in arrival order (fixtures/demo.txt)."""
    listed = (FIXTURES / "demo.txt").read_text(encoding="utf-8").splitlines()
    return [FIXTURES / line.strip() for line in listed if line.strip() and not line.startswith("#")]


@app.command()
@exits
def demo(ctx: typer.Context) -> None:
    """In a new temporary workspace on SQLite: import the bundled fixtures, process them, print the exceptions."""
    if not (FIXTURES / "suppliers.csv").is_file():
        raise ConfigError(f"demo fixtures not found in {FIXTURES}", hint="run the demo from a source checkout")
    workspace = Path(tempfile.mkdtemp(prefix="poguard-demo-"))
    (workspace / DEFAULT_CONFIG_NAME).write_text(config_template(), encoding="utf-8")
    config = load_config(workspace / DEFAULT_CONFIG_NAME)
    store = open_store(f"sqlite:///{(workspace / 'poguard.db').as_posix()}")
    try:
        with store.transaction() as session:
            repository.upsert_suppliers(session, read_suppliers(FIXTURES / "suppliers.csv"), "demo")
            repository.upsert_po_lines(session, read_po_lines(FIXTURES / "pos.csv"), "demo")
        documents = _demo_documents()
        accepted = _report(_process_paths(store, config, documents))
        _print_records(_exception_records(store, ExceptionStatus.OPEN.value), OutputFormat.TABLE)
    finally:
        store.dispose()
    out.print(f"\nworkspace: {workspace}\n  config:   {workspace / DEFAULT_CONFIG_NAME}\n  database: {workspace / 'poguard.db'}")
    out.print(f"explore it: cd {workspace} && poguard exceptions --format json")
    if not accepted:
        raise typer.Exit(ExitCode.INPUT_REJECTED)



def _change_note(ctx: typer.Context, exception_id: int, note: str, change: Callable[..., ExceptionRow]) -> None:
    settings: Settings = ctx.obj
    by = os.environ.get("POGUARD_USER") or os.environ.get("USER") or "cli"
    with settings.opened() as (_, store), store.transaction() as session:
        row = change(session, exception_id, f"person:{by}", note)
        out.print(f"exception {row.id}: {row.status} ({row.category} on PO {row.po_number} line {row.line or '-'})", markup=False)


@app.command()
@exits
def resolve(
    ctx: typer.Context,
    exception_id: Annotated[int, typer.Argument(help="the exception's id (poguard exceptions)")],
    note: Annotated[str, typer.Option("--note", help="why it is resolved; kept in the audit trail")] = "",
) -> None:
    """Close an exception by hand (open, escalated or auto-resolved)."""
    _change_note(ctx, exception_id, note, lifecycle.resolve)


@app.command()
@exits
def reopen(
    ctx: typer.Context,
    exception_id: Annotated[int, typer.Argument(help="the exception's id (poguard exceptions --status all)")],
    note: Annotated[str, typer.Option("--note", help="why it is reopened; kept in the audit trail")] = "",
) -> None:
    """Reopen a resolved exception, or reverse an auto-resolution."""
    _change_note(ctx, exception_id, note, lifecycle.reopen)


@app.command()
@exits
def sweep(ctx: typer.Context) -> None:
    """Escalate overdue exceptions and chase POs not acknowledged in time (the agent does this on a schedule)."""
    settings: Settings = ctx.obj
    with settings.opened() as (config, store), store.transaction() as session:
        escalated = lifecycle.escalate_overdue(session, date.today())
        chased = lifecycle.chase_unacknowledged(session, config, date.today())
    out.print(f"{len(escalated)} exception(s) escalated, {len(chased)} PO(s) not acknowledged in time")


rules_app = typer.Typer(no_args_is_help=True, help="Check the tolerances and try new ones on history.")
app.add_typer(rules_app, name="rules")

TOLERANCE_COLUMNS = ("supplier", "price over", "price under", "qty over", "qty under", "early days", "late days")


def _limit(pct: Any, absolute: Any) -> str:
    parts = [f"{pct}%" if pct is not None else None, f"{absolute} abs" if absolute is not None else None]
    return " or ".join(p for p in parts if p) or "none"


def _tolerance_row(label: str, config: Config, supplier_id: str | None) -> list[Any]:
    t = config.tolerances_for(supplier_id)
    return [label, _limit(t.price.over_pct, t.price.over_abs), _limit(t.price.under_pct, t.price.under_abs),
            _limit(t.quantity.over_pct, t.quantity.over_abs), _limit(t.quantity.under_pct, t.quantity.under_abs),
            t.date.early_days, t.date.late_days]


@rules_app.command("check")
@exits
def rules_check(ctx: typer.Context) -> None:
    """Validate the configuration and print the effective tolerances per supplier."""
    settings: Settings = ctx.obj
    with settings.opened() as (config, store), store.transaction() as session:
        suppliers = sorted(session.scalars(select(SupplierRow.supplier_id)))
    out.print(f"configuration {settings.config_path or '(defaults)'}: valid", markup=False)
    rows = [_tolerance_row("(default)", config, None)] + [_tolerance_row(s, config, s) for s in suppliers]
    out.print(_table(TOLERANCE_COLUMNS, iter(rows)))
    extra = sorted(set(config.rules.items) | set(config.rules.item_groups))
    if extra:
        out.print(f"item and item-group overrides also apply to: {', '.join(extra)}", markup=False)
    unknown = sorted(set(config.rules.suppliers) - set(suppliers))
    if unknown:
        err.print(f"warning: overrides name suppliers not in the database: {', '.join(unknown)}", markup=False)


REPLAY_COLUMNS = ("po_number", "line", "category", "rule", "before", "after")


@rules_app.command("replay")
@exits
def rules_replay(
    ctx: typer.Context,
    settings_: Annotated[list[str], typer.Option("--set", help="KEY=VALUE relative to [rules], e.g. price.over_pct=5 or price.percent=5")],
    since: Annotated[str | None, typer.Option("--since", help="only exceptions set by documents from this ISO date on")] = None,
) -> None:
    """Re-run the rules over the stored documents with changed settings, changing nothing; print what would differ."""
    settings: Settings = ctx.obj
    current = settings.config()
    changed = apply_settings(current, settings_)
    try:
        since_day = date.fromisoformat(since) if since else None
    except ValueError:
        raise ConfigError(f"--since: expected an ISO date (YYYY-MM-DD), got {since!r}") from None
    with settings.opened() as (_, store), store.transaction() as session:
        diff = replay(session, current, changed, since_day)
    out.print(f"replayed {diff.documents} document(s) with {', '.join(settings_)}: "
              f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.regraded)} re-graded", markup=False)
    for title, changes in (("added", diff.added), ("removed", diff.removed), ("re-graded", diff.regraded)):
        if changes:
            out.print(f"\n{title}:")
            out.print(_table(REPLAY_COLUMNS, iter(changes_as_rows(changes))))


def _print_run(report: RunReport) -> bool:
    """One line per channel and a summary; True when nothing failed or was rejected."""
    for poll in report.polls:
        state = f"error: {poll.errors[-1]}" if poll.errors else "ok"
        out.print(f"channel {poll.channel}: {poll.received} new, {poll.acknowledged} filed "
                  f"({poll.quarantined} quarantined), {state}", markup=False)
    for name in report.skipped_channels:
        out.print(f"channel {name}: polled by another agent", markup=False)
    rejected = [o for o in report.processed if o.outcome is Outcome.REJECTED]
    out.print(f"backlog: {len(report.processed)} processed ({len(rejected)} rejected); "
              f"{report.escalated} escalated, {report.chased} PO(s) chased for acknowledgment", markup=False)
    sent = _print_digests(report.digests)
    return sent and not rejected and not any(poll.errors or poll.quarantined for poll in report.polls)


def _print_digests(outcomes: list[DigestOutcome]) -> bool:
    """One line per digest; True when all were sent."""
    for outcome in outcomes:
        state = "sent" if outcome.sent else f"not sent: {outcome.error}"
        out.print(f"digest {outcome.digest_date} to {outcome.recipient} ({outcome.exception_count} exceptions): {state}",
                  markup=False)
    return all(outcome.sent for outcome in outcomes)


@app.command()
@exits
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="one pass of every channel, the backlog and the sweeps, then exit")] = False,
) -> None:
    """Run the agent: poll every mailbox and drop, process what arrives, escalate and chase; SIGTERM stops it gracefully."""
    settings: Settings = ctx.obj
    with settings.opened() as (config, store):
        agent = Agent(store, config, open_sources(config))
        if once:
            if not _print_run(agent.run_once()):
                raise typer.Exit(ExitCode.INPUT_REJECTED)
            return
        logging.getLogger().setLevel(logging.INFO)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: agent.stop())
        agent.start()
        agent.wait()


@app.command()
@exits
def digest(
    ctx: typer.Context,
    to: Annotated[str | None, typer.Option("--to", help="only the digest of this person (e-mail address)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the digests, send nothing")] = False,
    force: Annotated[bool, typer.Option("--force", help="send again digests already sent today")] = False,
) -> None:
    """Send today's digests now, whatever the time of day; a digest already sent today is not sent again unless --force."""
    settings: Settings = ctx.obj
    with settings.opened() as (config, store):
        digests = [d for d in todays_digests(store, config, utcnow()) if to is None or d.recipient.lower() == to.strip().lower()]
        if dry_run:
            for each in digests:
                out.print(f"To: {each.recipient}\n{each.render('digest.txt')}", markup=False)
            return
        sender = SmtpSender(config.smtp)
        if force:
            release_claims(store, digests)
        outcomes = deliver(store, config, digests, sender)
    if not digests:
        out.print("no digests: nobody has open or escalated exceptions" + (f" ({to})" if to else ""))
    elif not outcomes:
        out.print("every digest was already sent today (use --force to send again)")
    if not _print_digests(outcomes):
        raise typer.Exit(ExitCode.INPUT_REJECTED)


STATUS_COLUMNS = ("channel", "last poll", "last success", "received", "backlog", "polled by", "last error")


@app.command()
@exits
def status(ctx: typer.Context) -> None:
    """Each channel's last poll, backlog and errors, and the documents waiting for a worker."""
    settings: Settings = ctx.obj
    with settings.opened() as (config, store):
        rows, waiting = channel_status(store, [c.name for c in [*config.mailboxes, *config.drops]])
    out.print(_table(STATUS_COLUMNS, iter(rows)))
    out.print(f"documents waiting for a worker: {waiting}")
