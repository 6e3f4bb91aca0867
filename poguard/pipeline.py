"""The pipeline: an arrival is stored raw first (`receive`), then parse → match → rules → stored exceptions
in one transaction per arrival (`process_inbound`, `process_backlog`).

The only place that loads from the store, calls the pure stages, and persists. Idempotent by content:
an arrival already processed (same SHA-256, or same Message-ID) adds nothing; one rejected before is
tried again. Waiting arrivals are claimed with SELECT ... FOR UPDATE SKIP LOCKED, so several workers on
PostgreSQL share a backlog without doubles (SQLite ignores the lock clause: one agent runs there).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import parsers
import rules
from matcher import match_lines
from poguard.config import Config
from poguard.domain import (
    INBOUND_TRANSITIONS,
    Deviation,
    ExceptionStatus,
    InboundStatus,
    LineMatch,
    ParsedDocument,
    POLine,
)
from poguard.errors import ParseError
from poguard.repository import po_lines_for, record_audit, supplier_for_sender
from poguard.serialize import document_to_dict
from poguard.store import Store
from poguard.tables import DocumentRow, ExceptionRow, InboundFile, MatchRow, utcnow

__all__ = ["Arrival", "FileOutcome", "Outcome", "process_backlog", "process_file", "process_inbound", "receive"]

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Arrival:
    """A file or message as it arrived, with what its channel knows of the sender."""

    name: str
    content: bytes
    channel: str = "cli"
    sender: str | None = None
    message_id: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What became of one arrival: its documents and the exceptions raised or updated, or why it was rejected."""

    name: str
    outcome: Outcome
    documents: int = 0
    exceptions: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Context:
    config: Config
    today: date
    actor: str


def _move(row: InboundFile, status: InboundStatus) -> None:
    current = InboundStatus(row.status)
    if status not in INBOUND_TRANSITIONS[current]:
        raise ValueError(f"inbound {row.id}: {current} cannot become {status}")
    row.status = status.value


def receive(session: Session, arrival: Arrival) -> InboundFile:
    """Store the raw arrival first, deduplicated by content hash and then by Message-ID; the stored row.

    A rejected arrival that comes again is set back to `received`, so a fixed parser gets another go.
    """
    row = session.scalars(select(InboundFile).where(InboundFile.sha256 == arrival.sha256)).one_or_none()
    if row is None and arrival.message_id is not None:
        row = session.scalars(select(InboundFile).where(InboundFile.message_id == arrival.message_id)).first()
    if row is None:
        row = InboundFile(
            sha256=arrival.sha256, filename=arrival.name, content=arrival.content, channel=arrival.channel,
            sender=arrival.sender, message_id=arrival.message_id, status=InboundStatus.RECEIVED.value,
        )
        session.add(row)
        session.flush()
    elif row.status == InboundStatus.REJECTED:
        _move(row, InboundStatus.RECEIVED)
    return row


def _claim(session: Session, inbound_id: int | None) -> InboundFile | None:
    """Lock one waiting arrival (that one, or the oldest); rows other workers hold are skipped."""
    query = select(InboundFile).where(InboundFile.status == InboundStatus.RECEIVED)
    query = query.where(InboundFile.id == inbound_id) if inbound_id is not None else query.order_by(InboundFile.id)
    return session.scalars(query.limit(1).with_for_update(skip_locked=True)).one_or_none()


def process_inbound(store: Store, config: Config, inbound_id: int, *, today: date, actor: str) -> FileOutcome | None:
    """Process one stored arrival if it still waits; None when it is done or another worker holds it."""
    with store.transaction() as session:
        row = _claim(session, inbound_id)
        return None if row is None else _process(session, _Context(config, today, actor), row)


def process_backlog(store: Store, config: Config, *, today: date, actor: str, limit: int) -> list[FileOutcome]:
    """Claim and process up to `limit` waiting arrivals, one transaction each; N workers share the backlog."""
    outcomes: list[FileOutcome] = []
    context = _Context(config, today, actor)
    while len(outcomes) < limit:
        with store.transaction() as session:
            row = _claim(session, None)
            if row is None:
                break
            outcomes.append(_process(session, context, row))
    return outcomes


def _receive_once(store: Store, arrival: Arrival) -> tuple[int, InboundStatus]:
    with store.transaction() as session:
        row = receive(session, arrival)
        return row.id, InboundStatus(row.status)


def _receive_committed(store: Store, arrival: Arrival) -> tuple[int, InboundStatus]:
    """Receive in a transaction of its own."""
    try:
        return _receive_once(store, arrival)
    except IntegrityError:
        return _receive_once(store, arrival)  # another worker stored the same content first: read it back


def process_file(store: Store, config: Config, arrival: Arrival, *, today: date, actor: str) -> FileOutcome:
    """Receive `arrival`, then process it; content already processed is a duplicate and adds nothing."""
    inbound_id, status = _receive_committed(store, arrival)
    if status is InboundStatus.PROCESSED:
        return FileOutcome(arrival.name, Outcome.DUPLICATE)
    outcome = process_inbound(store, config, inbound_id, today=today, actor=actor)
    return FileOutcome(arrival.name, Outcome.DUPLICATE) if outcome is None else outcome


def _process(session: Session, context: _Context, inbound: InboundFile) -> FileOutcome:
    try:
        documents = parsers.parse(inbound.content)
    except ParseError as error:
        _move(inbound, InboundStatus.REJECTED)
        inbound.error = str(error)
        log.warning("file rejected name=%s inbound=%d reason=%s", inbound.filename, inbound.id, error)
        return FileOutcome(inbound.filename, Outcome.REJECTED, error=str(error))
    _move(inbound, InboundStatus.PROCESSED)
    inbound.error, inbound.parser, inbound.processed_at = None, documents[0].parser, utcnow()
    raised = sum(_store_document(session, context, inbound, position, doc) for position, doc in enumerate(documents))
    log.info("file processed name=%s inbound=%d documents=%d exceptions=%d", inbound.filename, inbound.id, len(documents), raised)
    return FileOutcome(inbound.filename, Outcome.PROCESSED, documents=len(documents), exceptions=raised)


def _store_document(session: Session, context: _Context, inbound: InboundFile, position: int, doc: ParsedDocument) -> int:
    """Match and check one document, store it with its matches and exceptions; the number of exceptions."""
    stored_lines = po_lines_for(session, doc.po_number)
    po_lines = [line for _, line in stored_lines]
    row_ids = {line.line: row_id for row_id, line in stored_lines}
    supplier_id = po_lines[0].supplier_id if po_lines else supplier_for_sender(session, doc.sender)
    matches = match_lines(doc, po_lines, context.config.matching.min_score)
    deviations = rules.evaluate(doc, po_lines, matches, context.config.tolerances_for(supplier_id))
    row = DocumentRow(
        inbound_id=inbound.id, position=position, kind=doc.kind, parser=doc.parser, number=doc.number,
        po_number=doc.po_number, sender=doc.sender, supplier_id=supplier_id, data=document_to_dict(doc),
    )
    session.add(row)
    session.flush()
    session.add_all(_match_row(row.id, match, row_ids) for match in matches)
    buyer = po_lines[0].buyer if po_lines else None
    for deviation in deviations:
        _raise_exception(session, context, row, deviation, _buyer_of(deviation, po_lines) or buyer)
    return len(deviations)


def _match_row(document_id: int, match: LineMatch, row_ids: dict[int, int]) -> MatchRow:
    po_line_id = row_ids[match.po_line.line] if match.po_line is not None else None
    return MatchRow(
        document_id=document_id, line_index=match.line_index, po_line_id=po_line_id, score=match.score,
        reason=match.reason,
    )


def _buyer_of(deviation: Deviation, po_lines: list[POLine]) -> str | None:
    return next((line.buyer for line in po_lines if line.line == deviation.line), None)


def _open_exception(session: Session, deviation: Deviation) -> ExceptionRow | None:
    """The open exception this deviation continues: same PO, line, category and rule."""
    return session.scalars(
        select(ExceptionRow).where(
            ExceptionRow.status == ExceptionStatus.OPEN,
            ExceptionRow.po_number.is_(None) if deviation.po_number is None else ExceptionRow.po_number == deviation.po_number,
            ExceptionRow.line.is_(None) if deviation.line is None else ExceptionRow.line == deviation.line,
            ExceptionRow.category == deviation.category,
            ExceptionRow.rule == deviation.rule,
        )
    ).first()


def _raise_exception(session: Session, context: _Context, document: DocumentRow, deviation: Deviation, buyer: str | None) -> None:
    """Open an exception for `deviation`, or update the open one it continues; audited either way."""
    findings = {
        "severity": deviation.severity.value, "expected": deviation.expected, "actual": deviation.actual,
        "message": deviation.message, "value_at_stake": deviation.value_at_stake,
    }
    existing = _open_exception(session, deviation) if deviation.po_number is not None else None
    if existing is not None:
        changes = {k: [str(getattr(existing, k)), str(v)] for k, v in findings.items() if getattr(existing, k) != v}
        for key, value in findings.items():
            setattr(existing, key, value)
        existing.document_id = document.id
        if changes:
            record_audit(session, "exception", str(existing.id), "updated", changes, f"rule:{deviation.rule}")
        return
    owner, due = rules.assign_owner(deviation.category, buyer, context.config, context.today)
    row = ExceptionRow(
        document_id=document.id, supplier_id=document.supplier_id, po_number=deviation.po_number,
        line=deviation.line, category=deviation.category.value, status=ExceptionStatus.OPEN.value,
        rule=deviation.rule, owner=owner, due=due, **findings,
    )
    session.add(row)
    session.flush()
    created = {k: str(v) for k, v in findings.items()} | {"status": row.status, "owner": owner, "due": due.isoformat()}
    record_audit(session, "exception", str(row.id), "created", created | {"by": context.actor}, f"rule:{deviation.rule}")
