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
from matcher import compact_id, document_item_keys, match_lines, rank_orders
from poguard import lifecycle, repository
from poguard.config import Config
from poguard import trust
from poguard.domain import (
    INBOUND_TRANSITIONS,
    Category,
    Deviation,
    InboundStatus,
    LineMatch,
    ParsedDocument,
    POLine,
    Severity,
)
from poguard.errors import ParseError
from poguard.serialize import document_to_dict
from poguard.store import Store
from poguard.tables import DocumentRow, InboundFile, MatchRow, utcnow
from poguard.trust import SenderVerdict, Trust
from rules import PoHistory, RuleInput

__all__ = ["Arrival", "FileOutcome", "Outcome", "process_backlog", "process_file", "process_inbound", "receive", "registry_for"]

log = logging.getLogger(__name__)

LEARN_SCORE = 0.95
CLI_CHANNEL = "cli"


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Arrival:
    """A file or message as it arrived, with what its channel knows of the sender."""

    name: str
    content: bytes
    channel: str = CLI_CHANNEL
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


def registry_for(config: Config) -> tuple[parsers.Parser, ...]:
    """The parsers, the PDF reader knowing the configured templates."""
    return parsers.build_registry(parsers.template_files(config.parsers.pdf_templates))


def _documents_in(raw: bytes, config: Config) -> list[ParsedDocument]:
    """The supplier documents in `raw`; content a parser reads but that holds none (a newsletter, an empty
    order table) is rejected too, so a person sees it."""
    documents = parsers.parse(raw, registry_for(config))
    if not documents:
        raise ParseError("readable, but it holds no order response, ship notice, invoice or change request",
                         code="no-supplier-document")
    return documents


def _process(session: Session, context: _Context, inbound: InboundFile) -> FileOutcome:
    try:
        documents = _documents_in(inbound.content, context.config)
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


@dataclass(frozen=True, slots=True)
class _Order:
    """The PO a document was found to refer to, and why."""

    po_number: str | None
    lines: list[tuple[int, POLine]]
    reason: str | None


def _order(session: Session, config: Config, doc: ParsedDocument, supplier_id: str | None, xref: dict[str, str]) -> _Order:
    """The PO by its reference (exact or normalised), else by the supplier's order number seen before, else,
    when the document gives no reference at all, the supplier's PO holding most of the document's items."""
    stored = repository.po_lines_for(session, doc.po_number)
    if stored:
        return _Order(stored[0][1].po_number, stored, f"PO reference {doc.po_number}")
    known = repository.po_for_supplier_order(session, supplier_id, doc.supplier_order_number)
    if known is not None:
        return _Order(known, repository.po_lines_for(session, known),
                      f"supplier order {doc.supplier_order_number} belongs to PO {known}")
    if doc.po_number or not supplier_id:
        return _Order(doc.po_number, [], None)  # a reference that names no PO is reported, never guessed around
    orders = repository.candidate_orders(session, supplier_id, document_item_keys(doc, xref))
    candidates = rank_orders(doc, orders, xref)
    if candidates and (len(candidates) == 1 or candidates[0].score > candidates[1].score):
        best = candidates[0]
        return _Order(best.po_number, repository.po_lines_for(session, best.po_number), best.reason)
    return _Order(doc.po_number, [], None)


def _history(session: Session, config: Config, po_number: str | None, po_lines: list[POLine], xref: dict[str, str]) -> PoHistory:
    """What the PO's earlier documents said, folded in arrival order."""
    history = PoHistory()
    for earlier in repository.documents_for(session, po_number):
        matches = match_lines(earlier, po_lines, config.matching.min_score, xref)
        history = history.after(earlier, matches)
    return history


def _vouched_supplier(config: Config, inbound: InboundFile, claimed: str | None) -> str | None:
    """Who vouches for a file that names no sender: the supplier its drop belongs to, or, for a file
    processed by hand, the operator on behalf of the PO's supplier."""
    drops = {drop.name: drop.supplier_id for drop in config.drops}
    return drops.get(inbound.channel) if inbound.channel != CLI_CHANNEL else claimed


def _attribute(session: Session, config: Config, inbound: InboundFile, doc: ParsedDocument, claimed: str | None) -> SenderVerdict:
    """Whose document this is, and whether poguard may act on it (see poguard.trust)."""
    sender = doc.sender or inbound.sender
    from_address = sender if sender and "@" in sender else None
    edi_sender = sender if sender and from_address is None else None
    vouched = _vouched_supplier(config, inbound, claimed) if sender is None else None
    if vouched is not None:
        how = "processed by hand" if inbound.channel == CLI_CHANNEL else f"from {vouched}'s drop {inbound.channel}"
        if claimed not in (None, vouched):
            return SenderVerdict(Trust.UNVERIFIED, claimed, f"no sender in the file; {how}, but the PO is {claimed}'s")
        return SenderVerdict(Trust.VERIFIED, vouched, f"no sender in the file; {how}, attributed to {vouched}")
    return trust.verify_sender(
        from_address=from_address, edi_sender=edi_sender, suppliers=repository.suppliers(session),
        claimed_supplier_id=claimed, message=inbound.content if from_address else None,
        check_dkim_signature=config.trust.check_dkim_signature,
    )


def _hold(doc: ParsedDocument, order: _Order, verdict: SenderVerdict) -> Deviation:
    """The one finding of a document poguard may not act on: who it seems to be from, and why it is held."""
    severity = Severity.CRITICAL if verdict.lookalike_of else Severity.HIGH
    label = " ".join(part for part in (doc.kind.value, doc.number) if part)
    return Deviation(Category.UNMATCHED, severity, "sender.unverified", order.po_number, None,
                     expected="a sender on the supplier's list", actual=doc.sender or "no sender",
                     message=f"{label} held, nothing it says is acted on: {verdict.reason}")


def _store_document(session: Session, context: _Context, inbound: InboundFile, position: int, doc: ParsedDocument) -> int:
    """Find the PO, attribute, match and check one document, store it with its matches; reconcile its exceptions.
    A document from an unverified sender is stored and shown with one `unmatched` finding, and nothing more."""
    config = context.config
    sender_supplier = repository.supplier_for_sender(session, doc.sender or inbound.sender)
    order = _order(session, config, doc, sender_supplier, repository.cross_references(session, sender_supplier))
    po_lines = [line for _, line in order.lines]
    verdict = _attribute(session, config, inbound, doc, po_lines[0].supplier_id if po_lines else None)
    if verdict.trust is Trust.UNVERIFIED:
        return _store_held(session, context, inbound, position, doc, order, verdict)
    supplier_id = verdict.supplier_id
    xref = repository.cross_references(session, supplier_id)
    matches = match_lines(doc, po_lines, config.matching.min_score, xref)
    history = _history(session, config, order.po_number, po_lines, xref)
    prices = repository.contract_prices(session, supplier_id, [line.item for line in po_lines])
    rule_input = RuleInput(doc, po_lines, matches, repository.supplier(session, supplier_id), history, tuple(prices), context.today)
    deviations = rules.evaluate(rule_input, config)
    row = _document_row(session, inbound, position, doc, order, verdict)
    row_ids = {line.line: row_id for row_id, line in order.lines}
    session.add_all(_match_row(row.id, match, row_ids) for match in matches)
    _learn(session, doc, matches, supplier_id, row)
    buyers: dict[int | None, str | None] = {line.line: line.buyer for line in po_lines}
    buyers[None] = po_lines[0].buyer if po_lines else None
    return lifecycle.reconcile(session, lifecycle.ReconcileInput(
        row, lifecycle.Family.of(doc.kind), order.po_number, deviations, lifecycle.covered_lines(doc, matches, po_lines),
        buyers, context.today, context.actor,
    ), config)


def _document_row(session: Session, inbound: InboundFile, position: int, doc: ParsedDocument, order: _Order,
                  verdict: SenderVerdict) -> DocumentRow:
    row = DocumentRow(
        inbound_id=inbound.id, position=position, kind=doc.kind, parser=doc.parser, number=doc.number,
        po_number=order.po_number, sender=doc.sender or inbound.sender, supplier_id=verdict.supplier_id,
        supplier_order_number=doc.supplier_order_number, po_reason=order.reason, trust=verdict.trust.value,
        trust_reason=verdict.reason, data=document_to_dict(doc),
    )
    session.add(row)
    session.flush()
    return row


def _store_held(session: Session, context: _Context, inbound: InboundFile, position: int, doc: ParsedDocument,
                order: _Order, verdict: SenderVerdict) -> int:
    row = _document_row(session, inbound, position, doc, order, verdict)
    log.info("document held name=%s sender=%s reason=%s", inbound.filename, doc.sender or inbound.sender, verdict.reason)
    buyers: dict[int | None, str | None] = {None: order.lines[0][1].buyer if order.lines else None}
    return lifecycle.reconcile(session, lifecycle.ReconcileInput(
        row, lifecycle.HELD, order.po_number, [_hold(doc, order, verdict)], frozenset(), buyers, context.today,
        context.actor), context.config)


def _learn(session: Session, doc: ParsedDocument, matches: list[LineMatch], supplier_id: str | None, row: DocumentRow) -> None:
    """Remember supplier items matched to our items by stronger evidence (a PO line reference or our item)."""
    if supplier_id is None:
        return
    for match in matches:
        line = doc.lines[match.line_index]
        if match.po_line is None or not line.supplier_item or match.score < LEARN_SCORE:
            continue
        if compact_id(line.supplier_item) != compact_id(match.po_line.supplier_item):
            repository.learn_cross_reference(session, supplier_id, line.supplier_item, match.po_line.item,
                                             f"{row.kind} {row.number or row.id} line {line.line or match.line_index + 1}")


def _match_row(document_id: int, match: LineMatch, row_ids: dict[int, int]) -> MatchRow:
    po_line_id = row_ids[match.po_line.line] if match.po_line is not None else None
    return MatchRow(
        document_id=document_id, line_index=match.line_index, po_line_id=po_line_id, score=match.score,
        reason=match.reason,
    )
