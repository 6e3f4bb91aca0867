"""The life of an exception: open → auto_resolved | resolved | escalated, every step in the audit trail.

- `reconcile`: a document's deviations against the exceptions earlier documents of the same family
  raised for the same PO: a deviation still there updates its exception, a new one opens one, and one a
  later document no longer shows is closed by that document.
- `escalate_overdue`: open exceptions past their due date escalate.
- `chase_unacknowledged`: POs without an acknowledgment in time get an `unacknowledged_po` exception.
- `resolve` / `reopen`: what a person does; `reopen` also reverses an auto-resolution.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

import rules
from poguard.config import Config
from poguard.domain import (
    Category,
    Deviation,
    DocumentKind,
    ExceptionStatus,
    LineMatch,
    LineStatus,
    ParsedDocument,
    POLine,
    Severity,
)
from poguard.errors import InputRejected
from poguard.repository import record_audit
from poguard.tables import DocumentRow, ExceptionRow, POLineRow, PurchaseOrderRow, acted_on, utcnow

__all__ = ["Family", "Plan", "chase_unacknowledged", "covered_lines", "deviation_key", "escalate_overdue", "plan", "reconcile", "reopen", "resolve"]

log = logging.getLogger(__name__)

HELD = "held"
LIVE = (ExceptionStatus.OPEN.value, ExceptionStatus.AUTO_RESOLVED.value, ExceptionStatus.ESCALATED.value)
SWEEP = "sweep"

Key = tuple[int | None, str, str, str]


class Family:
    """Documents that speak about the same thing supersede each other: a later confirmation replaces an
    earlier one, a later ship notice adds to the shipments, and so on."""

    CONFIRMATION = "confirmation"

    @staticmethod
    def of(kind: DocumentKind) -> str:
        return Family.CONFIRMATION if kind in (DocumentKind.ACKNOWLEDGMENT, DocumentKind.CHANGE_REQUEST) else kind.value

    @staticmethod
    def supersedes(family: str) -> bool:
        """A later confirmation replaces the earlier one whole; ship notices and invoices add to each other."""
        return family == Family.CONFIRMATION


@dataclass(frozen=True, slots=True)
class ReconcileInput:
    document: DocumentRow
    family: str
    po_number: str | None
    deviations: Sequence[Deviation]
    covered_lines: frozenset[int]
    buyer_of: dict[int | None, str | None]
    today: date
    actor: str


def _key(line: int | None, category: str, rule: str, actual: str) -> Key:
    """Line-level findings are one per line, category and rule; document-level ones also by what they name."""
    return (line, category, rule, actual if line is None else "")


def _findings(deviation: Deviation) -> dict[str, Any]:
    return {
        "severity": deviation.severity.value, "expected": deviation.expected, "actual": deviation.actual,
        "message": deviation.message, "value_at_stake": deviation.value_at_stake,
    }


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _set_status(session: Session, row: ExceptionRow, status: ExceptionStatus, by: str, note: str) -> None:
    if row.status == status.value:
        return
    record_audit(session, "exception", str(row.id), status.value,
                 {"status": [row.status, status.value], "note": note}, by)
    row.status = status.value
    row.resolved_by = by if status in (ExceptionStatus.AUTO_RESOLVED, ExceptionStatus.RESOLVED) else None


def _update(session: Session, row: ExceptionRow, deviation: Deviation, inp: ReconcileInput) -> None:
    findings = _findings(deviation)
    changes = {k: [_text(getattr(row, k)), _text(v)] for k, v in findings.items() if getattr(row, k) != v}
    for name, value in findings.items():
        setattr(row, name, value)
    row.document_id = inp.document.id
    if changes:
        record_audit(session, "exception", str(row.id), "updated", changes, f"rule:{deviation.rule}")
    if deviation.resolution is not None and row.status == ExceptionStatus.OPEN:
        _set_status(session, row, ExceptionStatus.AUTO_RESOLVED, f"rule:{deviation.resolution}", "now inside tolerance")
    elif deviation.resolution is None and row.status == ExceptionStatus.AUTO_RESOLVED:
        _set_status(session, row, ExceptionStatus.OPEN, f"rule:{deviation.rule}", "now beyond tolerance")


def _create(session: Session, deviation: Deviation, inp: ReconcileInput, config: Config) -> ExceptionRow:
    assignment = rules.assign_owner(deviation.category, inp.buyer_of.get(deviation.line), config, inp.today)
    status = ExceptionStatus.OPEN if deviation.resolution is None else ExceptionStatus.AUTO_RESOLVED
    row = ExceptionRow(
        document_id=inp.document.id, source_kind=inp.family, supplier_id=inp.document.supplier_id,
        po_number=deviation.po_number, line=deviation.line, category=deviation.category.value, status=status.value,
        rule=deviation.rule, owner=assignment.owner, due=assignment.due, escalated_to=assignment.escalate_to,
        resolved_by=None if deviation.resolution is None else f"rule:{deviation.resolution}", **_findings(deviation),
    )
    session.add(row)
    session.flush()
    created = {k: _text(v) for k, v in _findings(deviation).items()} | {
        "status": row.status, "owner": row.owner, "due": row.due.isoformat(), "by": inp.actor,
    }
    record_audit(session, "exception", str(row.id), "created", created, row.resolved_by or f"rule:{deviation.rule}")
    return row


def _live(session: Session, inp: ReconcileInput) -> dict[Key, ExceptionRow]:
    if inp.po_number is None:
        return {}
    rows = session.scalars(select(ExceptionRow).where(
        ExceptionRow.po_number == inp.po_number, ExceptionRow.source_kind == inp.family,
        ExceptionRow.status.in_(LIVE)).order_by(ExceptionRow.id))
    return {_key(r.line, r.category, r.rule, r.actual): r for r in rows}


@dataclass(frozen=True, slots=True)
class Plan:
    """What a document does to the live exceptions of its PO and family."""

    update: list[tuple[Key, Deviation]]
    create: list[tuple[Key, Deviation]]
    close: list[Key]


def covered_lines(doc: ParsedDocument, matches: Sequence[LineMatch], po_lines: Sequence[POLine]) -> frozenset[int]:
    """The PO lines a document speaks about: those its lines matched; all of them when it rejects the whole order."""
    if doc.status is LineStatus.REJECTED and not doc.lines:
        return frozenset(line.line for line in po_lines)
    return frozenset(m.po_line.line for m in matches if m.po_line is not None)


def deviation_key(deviation: Deviation) -> Key:
    return _key(deviation.line, deviation.category.value, deviation.rule, deviation.actual)


def plan(live: Iterable[Key], deviations: Sequence[Deviation], covered_lines: frozenset[int], family: str) -> Plan:
    """Pure: a deviation still there updates its exception, a new one creates one, and a live one this document
    speaks about but no longer shows is closed: one of its PO lines, or (for a superseding family) the
    document level."""
    live_keys = set(live)
    now = {deviation_key(d): d for d in deviations}
    document_level = Family.supersedes(family)
    return Plan(
        update=[(k, d) for k, d in now.items() if k in live_keys],
        create=[(k, d) for k, d in now.items() if k not in live_keys],
        close=[k for k in live_keys if k not in now and ((k[0] is None and document_level) or k[0] in covered_lines)],
    )


def reconcile(session: Session, inp: ReconcileInput, config: Config) -> int:
    """Bring the PO's exceptions of this document family in line with the document's deviations; how many
    deviations the document has."""
    live = _live(session, inp)
    steps = plan(live, inp.deviations, inp.covered_lines, inp.family)
    for key, deviation in steps.update:
        _update(session, live[key], deviation, inp)
    for _, deviation in steps.create:
        _create(session, deviation, inp, config)
    label = " ".join(part for part in (inp.document.kind, inp.document.number) if part)
    for key in steps.close:
        if live[key].status != ExceptionStatus.AUTO_RESOLVED:
            _set_status(session, live[key], ExceptionStatus.RESOLVED, f"document:{label}", "a later document no longer shows it")
    if inp.family == Family.CONFIRMATION and inp.po_number is not None:
        _close_unacknowledged(session, inp.po_number, label)
    return len(inp.deviations)


def _close_unacknowledged(session: Session, po_number: str, label: str) -> None:
    rows = session.scalars(select(ExceptionRow).where(
        ExceptionRow.po_number == po_number, ExceptionRow.category == Category.UNACKNOWLEDGED_PO.value,
        ExceptionRow.status.in_(LIVE)))
    for row in rows:
        _set_status(session, row, ExceptionStatus.RESOLVED, f"document:{label}", "the PO is acknowledged")


def escalate_overdue(session: Session, today: date) -> list[ExceptionRow]:
    """Open exceptions past their due date become `escalated` (to the person their category escalates to)."""
    overdue = list(session.scalars(select(ExceptionRow).where(
        ExceptionRow.status == ExceptionStatus.OPEN.value, ExceptionRow.due < today)))
    for row in overdue:
        _set_status(session, row, ExceptionStatus.ESCALATED, "sweep:sla", f"due {row.due.isoformat()}, escalated to {row.escalated_to}")
    return overdue


def chase_unacknowledged(session: Session, config: Config, today: date) -> list[ExceptionRow]:
    """An `unacknowledged_po` exception for every PO with no acknowledgment within the configured business days."""
    calendar = rules.calendar_for(config.calendar.country)
    acknowledged = exists().where(DocumentRow.po_number == PurchaseOrderRow.po_number, acted_on(),
                                  DocumentRow.kind.in_([DocumentKind.ACKNOWLEDGMENT.value, DocumentKind.CHANGE_REQUEST.value]))
    chased = exists().where(ExceptionRow.po_number == PurchaseOrderRow.po_number,
                            ExceptionRow.category == Category.UNACKNOWLEDGED_PO.value)
    orders = session.scalars(select(PurchaseOrderRow).where(
        PurchaseOrderRow.po_date.is_not(None), ~acknowledged, ~chased))
    raised = []
    for order in orders:
        deadline = calendar.add(order.po_date, config.rules.acknowledgment.within_days)  # type: ignore[arg-type]
        if today <= deadline:
            continue
        buyer = session.scalars(select(POLineRow.buyer).where(POLineRow.po_number == order.po_number)).first()
        deviation = Deviation(Category.UNACKNOWLEDGED_PO, Severity.MEDIUM, "ack.missing", order.po_number, None,
                              expected=f"an acknowledgment by {deadline.isoformat()}", actual="none received",
                              message=f"PO issued {order.po_date.isoformat()} is not acknowledged")  # type: ignore[union-attr]
        inp = ReconcileInput(DocumentRow(id=None, supplier_id=order.supplier_id), SWEEP, order.po_number, [deviation],
                             frozenset(), {None: buyer}, today, "sweep:acknowledgments")
        raised.append(_create(session, deviation, inp, config))
    return raised


def _exception(session: Session, exception_id: int) -> ExceptionRow:
    row = session.get(ExceptionRow, exception_id)
    if row is None:
        raise InputRejected(f"no exception {exception_id}", code="exception-not-found")
    return row


def resolve(session: Session, exception_id: int, by: str, note: str) -> ExceptionRow:
    """A person closes an exception (any live status)."""
    row = _exception(session, exception_id)
    if row.status not in LIVE:
        raise InputRejected(f"exception {exception_id} is already {row.status}", code="exception-not-live")
    _set_status(session, row, ExceptionStatus.RESOLVED, by, note)
    return row


def reopen(session: Session, exception_id: int, by: str, note: str) -> ExceptionRow:
    """A person reopens a resolved or auto-resolved exception: auto-resolution is reversible."""
    row = _exception(session, exception_id)
    if row.status not in (ExceptionStatus.RESOLVED.value, ExceptionStatus.AUTO_RESOLVED.value):
        raise InputRejected(f"exception {exception_id} is {row.status}, not resolved", code="exception-not-resolved")
    _set_status(session, row, ExceptionStatus.OPEN, by, note)
    row.updated_at = utcnow()
    return row
