"""Reads and writes of domain objects in the store, with an audit event for every change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher import normalise_po_reference
from poguard.domain import POLine, Supplier
from poguard.errors import InputRejected
from poguard.tables import AuditEvent, ExceptionRow, POLineRow, PurchaseOrderRow, SupplierRow

__all__ = [
    "exceptions",
    "po_lines_for",
    "record_audit",
    "supplier_for_sender",
    "upsert_po_lines",
    "upsert_suppliers",
]


def _plain(value: Any) -> Any:
    """A JSON-ready form of a stored value for the audit trail."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (Decimal,)) or hasattr(value, "isoformat"):
        return str(value)
    return value


def record_audit(session: Session, entity: str, entity_id: str, action: str, changes: dict[str, Any], actor: str) -> None:
    """One audit event; `changes` maps a field to `[old, new]` (or to the new value on create)."""
    session.add(AuditEvent(entity=entity, entity_id=entity_id, action=action, changes=changes, actor=actor))


def _apply(row: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set `values` on `row`; the fields that really changed, as `{field: [old, new]}`."""
    changed = {}
    for field, new in values.items():
        old = getattr(row, field)
        if _plain(old) != _plain(new):
            changed[field] = [_plain(old), _plain(new)]
            setattr(row, field, new)
    return changed


def _upsert(session: Session, row: Any, row_type: type, entity_id: str, values: dict[str, Any], actor: str) -> str:
    """Insert `values` as a new row, or update `row`; returns "added", "updated" or "unchanged"."""
    entity = row_type.__tablename__.removesuffix("s")
    if row is None:
        session.add(row_type(**values))
        record_audit(session, entity, entity_id, "created", {k: _plain(v) for k, v in values.items()}, actor)
        return "added"
    changed = _apply(row, values)
    if not changed:
        return "unchanged"
    record_audit(session, entity, entity_id, "updated", changed, actor)
    return "updated"


def upsert_suppliers(session: Session, suppliers: Sequence[Supplier], actor: str) -> dict[str, int]:
    """Insert new suppliers and update known ones; counts per outcome."""
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for supplier in suppliers:
        values = asdict(supplier) | {"emails": list(supplier.emails), "edi_ids": list(supplier.edi_ids)}
        row = session.get(SupplierRow, supplier.supplier_id)
        counts[_upsert(session, row, SupplierRow, supplier.supplier_id, values, actor)] += 1
    return counts


def _po_line_row(session: Session, line: POLine) -> POLineRow | None:
    return session.scalars(
        select(POLineRow).where(POLineRow.po_number == line.po_number, POLineRow.line == line.line)
    ).one_or_none()


def _upsert_order(session: Session, po_number: str, supplier_id: str, actor: str) -> None:
    if session.get(SupplierRow, supplier_id) is None:
        raise InputRejected(f"PO {po_number} names unknown supplier {supplier_id!r}; import suppliers first")
    values = {"po_number": po_number, "po_key": normalise_po_reference(po_number), "supplier_id": supplier_id}
    _upsert(session, session.get(PurchaseOrderRow, po_number), PurchaseOrderRow, po_number, values, actor)


def upsert_po_lines(session: Session, lines: Sequence[POLine], actor: str) -> dict[str, int]:
    """Insert new PO lines and update known ones; an unknown supplier rejects the whole import."""
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for po_number, supplier_id in {(line.po_number, line.supplier_id) for line in lines}:
        _upsert_order(session, po_number, supplier_id, actor)
    session.flush()
    for line in lines:
        values = asdict(line)
        values.pop("supplier_id")
        values["required_docs"] = list(line.required_docs)
        entity_id = f"{line.po_number}/{line.line}"
        counts[_upsert(session, _po_line_row(session, line), POLineRow, entity_id, values, actor)] += 1
    return counts


def _as_po_line(row: POLineRow) -> POLine:
    return POLine(
        po_number=row.po_number, line=row.line, supplier_id=row.order.supplier_id, item=row.item,
        supplier_item=row.supplier_item, description=row.description, quantity=row.quantity, uom=row.uom,
        unit_price=row.unit_price, currency=row.currency, need_by=row.need_by, buyer=row.buyer,
        required_docs=tuple(row.required_docs),
    )


def po_lines_for(session: Session, reference: str | None) -> list[tuple[int, POLine]]:
    """The stored lines (row id, domain line) of the PO `reference` names, exact or normalised."""
    key = normalise_po_reference(reference)
    if key is None:
        return []
    order = session.get(PurchaseOrderRow, reference) or session.scalars(
        select(PurchaseOrderRow).where(PurchaseOrderRow.po_key == key)
    ).first()
    if order is None:
        return []
    return [(row.id, _as_po_line(row)) for row in order.lines]


def supplier_for_sender(session: Session, sender: str | None) -> str | None:
    """The supplier whose EDI ids or e-mail list includes `sender`."""
    if not sender:
        return None
    wanted = sender.strip().lower()
    domain = "@" + wanted.partition("@")[2] if "@" in wanted else None
    for row in session.scalars(select(SupplierRow)):
        if wanted in (i.lower() for i in row.edi_ids) or wanted in row.emails or (domain and domain in row.emails):
            return row.supplier_id
    return None


def exceptions(session: Session, status: str | None) -> list[ExceptionRow]:
    """Stored exceptions by PO, line and category; `status=None` means all."""
    query = select(ExceptionRow).order_by(ExceptionRow.po_number, ExceptionRow.line, ExceptionRow.category)
    if status is not None:
        query = query.where(ExceptionRow.status == status)
    return list(session.scalars(query))
