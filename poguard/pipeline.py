"""The pipeline: one raw file → parse → match → rules → stored exceptions, in one transaction.

The only place that loads from the store, calls the pure stages, and persists. Idempotent by content:
a file already processed (same SHA-256) adds nothing; a file rejected before is tried again.
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
from poguard.domain import Deviation, ExceptionStatus, LineMatch, ParsedDocument, POLine
from poguard.errors import ParseError
from poguard.repository import po_lines_for, record_audit, supplier_for_sender
from poguard.serialize import document_to_dict
from poguard.store import Store
from poguard.tables import DocumentRow, ExceptionRow, InboundFile, MatchRow

__all__ = ["FileOutcome", "Outcome", "process_file"]

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What became of one file: its documents and the exceptions raised or updated, or why it was rejected."""

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


def _inbound(session: Session, sha256: str) -> InboundFile | None:
    return session.scalars(select(InboundFile).where(InboundFile.sha256 == sha256)).one_or_none()


def process_file(store: Store, config: Config, name: str, raw: bytes, *, today: date, actor: str) -> FileOutcome:
    """Store `raw` and everything poguard finds in it; a file already processed is a duplicate."""
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        with store.transaction() as session:
            return _process(session, _Context(config, today, actor), name, raw, sha256)
    except IntegrityError:
        log.info("file processed concurrently by another worker name=%s sha256=%s", name, sha256)
        return FileOutcome(name, Outcome.DUPLICATE)


def _process(session: Session, context: _Context, name: str, raw: bytes, sha256: str) -> FileOutcome:
    inbound = _inbound(session, sha256)
    if inbound is not None and inbound.status == Outcome.PROCESSED:
        return FileOutcome(name, Outcome.DUPLICATE)
    if inbound is None:
        inbound = InboundFile(sha256=sha256, filename=name, content=raw, status=Outcome.REJECTED)
        session.add(inbound)
    try:
        documents = parsers.parse(raw)
    except ParseError as error:
        inbound.status, inbound.error = Outcome.REJECTED, str(error)
        log.warning("file rejected name=%s reason=%s", name, error)
        return FileOutcome(name, Outcome.REJECTED, error=str(error))
    inbound.status, inbound.error, inbound.parser = Outcome.PROCESSED, None, documents[0].parser
    session.flush()
    raised = sum(_store_document(session, context, inbound, position, doc) for position, doc in enumerate(documents))
    log.info("file processed name=%s documents=%d exceptions=%d", name, len(documents), raised)
    return FileOutcome(name, Outcome.PROCESSED, documents=len(documents), exceptions=raised)


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
