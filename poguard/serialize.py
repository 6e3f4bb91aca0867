"""Parsed documents to and from plain JSON-ready dicts: the form stored, printed by `poguard parse`, and
kept beside fixtures as golden files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from poguard.domain import DocumentKind, LineStatus, ParsedDocument, ParsedLine, Problem, Provenance

__all__ = ["document_from_dict", "document_to_dict"]


def _text(value: Decimal | date | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _provenance_to_dict(provenance: dict[str, Provenance]) -> dict[str, dict[str, Any]]:
    return {key: {"source": p.source, "confidence": p.confidence} for key, p in provenance.items()}


def _provenance_from_dict(data: dict[str, dict[str, Any]]) -> dict[str, Provenance]:
    return {key: Provenance(p["source"], p["confidence"]) for key, p in data.items()}


def _line_to_dict(line: ParsedLine) -> dict[str, Any]:
    return {
        "line": line.line,
        "po_line": line.po_line,
        "item": line.item,
        "supplier_item": line.supplier_item,
        "other_ids": list(line.other_ids),
        "description": line.description,
        "quantity": _text(line.quantity),
        "uom": line.uom,
        "unit_price": _text(line.unit_price),
        "delivery_date": _text(line.delivery_date),
        "status": line.status.value,
        "provenance": _provenance_to_dict(line.provenance),
    }


def document_to_dict(doc: ParsedDocument) -> dict[str, Any]:
    """A JSON-ready dict: decimals as strings (no float rounding), dates as ISO strings."""
    return {
        "kind": doc.kind.value,
        "parser": doc.parser,
        "number": doc.number,
        "po_number": doc.po_number,
        "issue_date": _text(doc.issue_date),
        "currency": doc.currency,
        "total": _text(doc.total),
        "sender": doc.sender,
        "supplier_order_number": doc.supplier_order_number,
        "status": doc.status.value,
        "payment_terms": doc.payment_terms,
        "certificates": list(doc.certificates),
        "origin": doc.origin,
        "lines": [_line_to_dict(line) for line in doc.lines],
        "problems": [{"code": p.code, "message": p.message, "location": p.location} for p in doc.problems],
        "provenance": _provenance_to_dict(doc.provenance),
    }


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _line_from_dict(data: dict[str, Any]) -> ParsedLine:
    return ParsedLine(
        line=data["line"],
        po_line=data["po_line"],
        item=data["item"],
        supplier_item=data["supplier_item"],
        other_ids=tuple(data["other_ids"]),
        description=data["description"],
        quantity=_decimal(data["quantity"]),
        uom=data["uom"],
        unit_price=_decimal(data["unit_price"]),
        delivery_date=_date(data["delivery_date"]),
        status=LineStatus(data["status"]),
        provenance=_provenance_from_dict(data["provenance"]),
    )


def document_from_dict(data: dict[str, Any]) -> ParsedDocument:
    """The inverse of `document_to_dict`."""
    return ParsedDocument(
        kind=DocumentKind(data["kind"]),
        parser=data["parser"],
        number=data["number"],
        po_number=data["po_number"],
        issue_date=_date(data["issue_date"]),
        currency=data["currency"],
        total=_decimal(data["total"]),
        sender=data["sender"],
        supplier_order_number=data.get("supplier_order_number"),
        status=LineStatus(data.get("status", LineStatus.UNKNOWN.value)),
        payment_terms=data.get("payment_terms"),
        certificates=tuple(data.get("certificates", ())),
        origin=data.get("origin"),
        lines=[_line_from_dict(line) for line in data["lines"]],
        problems=[Problem(p["code"], p["message"], p["location"]) for p in data["problems"]],
        provenance=_provenance_from_dict(data["provenance"]),
    )
