"""Reads and writes of domain objects in the store, with an audit event for every change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from matcher import compact_id, normalise_po_reference
from poguard.domain import ContractPrice, ParsedDocument, POLine, Supplier
from poguard.serialize import document_from_dict
from poguard.errors import InputRejected
from poguard.tables import (
    AuditEvent,
    ContractPriceRow,
    DocumentRow,
    ExceptionRow,
    ItemCrossReference,
    MatchRow,
    POLineRow,
    PurchaseOrderRow,
    SupplierRow,
    acted_on,
)

__all__ = [
    "contract_prices",
    "cross_references",
    "documents",
    "documents_for",
    "exceptions",
    "candidate_orders",
    "po_for_supplier_order",
    "learn_cross_reference",
    "match_reason",
    "supplier",
    "suppliers",
    "upsert_prices",
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


def _upsert_order(session: Session, first_line: POLine, actor: str) -> None:
    po_number, supplier_id = first_line.po_number, first_line.supplier_id
    if session.get(SupplierRow, supplier_id) is None:
        raise InputRejected(f"PO {po_number} names unknown supplier {supplier_id!r}; import suppliers first")
    values = {"po_number": po_number, "po_key": normalise_po_reference(po_number), "supplier_id": supplier_id,
              "po_date": first_line.po_date, "payment_terms": first_line.payment_terms}
    _upsert(session, session.get(PurchaseOrderRow, po_number), PurchaseOrderRow, po_number, values, actor)


def upsert_po_lines(session: Session, lines: Sequence[POLine], actor: str) -> dict[str, int]:
    """Insert new PO lines and update known ones; an unknown supplier rejects the whole import."""
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    first_lines = {line.po_number: line for line in reversed(lines)}
    for first_line in first_lines.values():
        _upsert_order(session, first_line, actor)
    session.flush()
    for line in lines:
        values = asdict(line)
        for order_level in ("supplier_id", "po_date", "payment_terms"):
            values.pop(order_level)
        values["item_key"] = compact_id(line.item)
        values["supplier_item_key"] = compact_id(line.supplier_item) or None
        values["required_docs"] = list(line.required_docs)
        entity_id = f"{line.po_number}/{line.line}"
        counts[_upsert(session, _po_line_row(session, line), POLineRow, entity_id, values, actor)] += 1
    return counts


def _as_po_line(row: POLineRow) -> POLine:
    return POLine(
        po_number=row.po_number, line=row.line, supplier_id=row.order.supplier_id, item=row.item,
        supplier_item=row.supplier_item, description=row.description, quantity=row.quantity, uom=row.uom,
        unit_price=row.unit_price, currency=row.currency, need_by=row.need_by, buyer=row.buyer,
        required_docs=tuple(row.required_docs), item_group=row.item_group, po_date=row.order.po_date,
        payment_terms=row.order.payment_terms,
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


def _as_supplier(row: SupplierRow) -> Supplier:
    return Supplier(row.supplier_id, row.name, tuple(row.emails), tuple(row.edi_ids), row.lead_time_days, row.country)


def supplier(session: Session, supplier_id: str | None) -> Supplier | None:
    row = session.get(SupplierRow, supplier_id) if supplier_id else None
    return None if row is None else _as_supplier(row)


def suppliers(session: Session) -> list[Supplier]:
    return [_as_supplier(row) for row in session.scalars(select(SupplierRow).order_by(SupplierRow.supplier_id))]


def upsert_prices(session: Session, prices: Sequence[ContractPrice], actor: str) -> dict[str, int]:
    """Insert or update contract prices, keyed by supplier, item and start of validity."""
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for price in prices:
        if session.get(SupplierRow, price.supplier_id) is None:
            raise InputRejected(f"contract price names unknown supplier {price.supplier_id!r}; import suppliers first")
        row = session.scalars(select(ContractPriceRow).where(
            ContractPriceRow.supplier_id == price.supplier_id, ContractPriceRow.item == price.item,
            ContractPriceRow.valid_from == price.valid_from,
        )).one_or_none()
        entity_id = f"{price.supplier_id}/{price.item}/{price.valid_from}"
        counts[_upsert(session, row, ContractPriceRow, entity_id, asdict(price), actor)] += 1
    return counts


def contract_prices(session: Session, supplier_id: str | None, items: Sequence[str]) -> list[ContractPrice]:
    """The supplier's contract prices for these items, every validity period."""
    if not supplier_id or not items:
        return []
    rows = session.scalars(select(ContractPriceRow).where(
        ContractPriceRow.supplier_id == supplier_id, ContractPriceRow.item.in_(set(items))))
    return [ContractPrice(r.supplier_id, r.item, r.unit_price, r.currency, r.valid_from, r.valid_to) for r in rows]


def cross_references(session: Session, supplier_id: str | None) -> dict[str, str]:
    """The supplier's item numbers known to be ours, as `compact_id(supplier_item) -> item`."""
    if not supplier_id:
        return {}
    rows = session.scalars(select(ItemCrossReference).where(ItemCrossReference.supplier_id == supplier_id))
    return {row.supplier_item: row.item for row in rows}


def learn_cross_reference(session: Session, supplier_id: str, supplier_item: str, item: str, learned_from: str) -> None:
    """Remember that the supplier's `supplier_item` is our `item` (the first confirmation wins; changes are audited)."""
    key = compact_id(supplier_item)
    row = session.scalars(select(ItemCrossReference).where(
        ItemCrossReference.supplier_id == supplier_id, ItemCrossReference.supplier_item == key)).one_or_none()
    if row is not None:
        return
    session.add(ItemCrossReference(supplier_id=supplier_id, supplier_item=key, item=item, learned_from=learned_from))
    record_audit(session, "item_xref", f"{supplier_id}/{key}", "created", {"item": item}, f"learned:{learned_from}")


def po_for_supplier_order(session: Session, supplier_id: str | None, supplier_order: str | None) -> str | None:
    """The PO an earlier document of this supplier tied to its own order number `supplier_order`."""
    if not supplier_id or not supplier_order:
        return None
    return session.scalars(
        select(DocumentRow.po_number).join(PurchaseOrderRow, PurchaseOrderRow.po_number == DocumentRow.po_number)
        .where(DocumentRow.supplier_id == supplier_id, DocumentRow.supplier_order_number == supplier_order, acted_on())
        .order_by(DocumentRow.id.desc())
    ).first()


def candidate_orders(session: Session, supplier_id: str, item_keys: set[str]) -> dict[str, list[POLine]]:
    """The supplier's POs holding at least one of `item_keys` (see `matcher.compact_id`), with all their lines;
    found through the indexed item keys, so the cost does not grow with the supplier's history."""
    if not item_keys:
        return {}
    holding = (
        select(POLineRow.po_number).join(PurchaseOrderRow)
        .where(PurchaseOrderRow.supplier_id == supplier_id,
               or_(POLineRow.item_key.in_(item_keys), POLineRow.supplier_item_key.in_(item_keys)))
        .distinct()
    )
    orders = session.scalars(select(PurchaseOrderRow).where(PurchaseOrderRow.po_number.in_(holding))
                             .options(selectinload(PurchaseOrderRow.lines)))
    return {order.po_number: [_as_po_line(row) for row in order.lines] for order in orders}


def documents_for(session: Session, po_number: str | None) -> list[ParsedDocument]:
    """The documents poguard acted on for a PO (held ones left out), in arrival order."""
    if po_number is None:
        return []
    rows = session.scalars(select(DocumentRow.data).where(DocumentRow.po_number == po_number, acted_on())
                           .order_by(DocumentRow.id))
    return [document_from_dict(data) for data in rows]


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


def match_reason(session: Session, exception: ExceptionRow) -> str | None:
    """Why the exception's document line was taken for its PO line (score and evidence), or for a
    document-level exception, how its PO was found."""
    document = session.get(DocumentRow, exception.document_id) if exception.document_id else None
    if document is None:
        return None
    if exception.line is None:
        return document.po_reason
    match = session.scalars(
        select(MatchRow).join(POLineRow, POLineRow.id == MatchRow.po_line_id)
        .where(MatchRow.document_id == document.id, POLineRow.po_number == exception.po_number,
               POLineRow.line == exception.line).order_by(MatchRow.score.desc())
    ).first()
    return None if match is None else f"{match.score:.2f}: {match.reason}"


def documents(session: Session, *, held_only: bool) -> list[DocumentRow]:
    """Stored documents, newest first; `held_only`: those from senders poguard could not verify."""
    query = select(DocumentRow).order_by(DocumentRow.id.desc())
    return list(session.scalars(query.where(~acted_on()) if held_only else query))


def exceptions(session: Session, status: str | None) -> list[ExceptionRow]:
    """Stored exceptions by PO, line and category; `status=None` means all."""
    query = select(ExceptionRow).order_by(ExceptionRow.po_number, ExceptionRow.line, ExceptionRow.category)
    if status is not None:
        query = query.where(ExceptionRow.status == status)
    return list(session.scalars(query))
