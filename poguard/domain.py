"""The domain model: the words every stage of poguard speaks.

Vocabulary
- *supplier*: who sends documents; known by e-mail addresses/domains and EDI interchange ids.
- *purchase order* (PO) and its *PO lines*: what the buyer ordered, imported from CSV or the ERP.
- *document*: what a supplier sent (an acknowledgment, a ship notice, an invoice, a change request),
  read by a parser into a `ParsedDocument` with `ParsedLine`s.
- *match*: which PO line a document line refers to, with a score and a reason a buyer can read.
- *deviation*: what the rules found wrong on a match; stored, it becomes an *exception* with an owner,
  a due date and a status.

Money and quantities are `Decimal`; dates are `datetime.date`. "Unknown" is `None` with a `Problem`
recorded, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "Category",
    "ContractPrice",
    "Deviation",
    "DocumentKind",
    "ExceptionStatus",
    "INBOUND_TRANSITIONS",
    "InboundStatus",
    "LineMatch",
    "LineStatus",
    "POLine",
    "ParsedDocument",
    "ParsedLine",
    "Problem",
    "Provenance",
    "PurchaseOrder",
    "Severity",
    "Supplier",
]


class DocumentKind(StrEnum):
    """What a supplier document is for."""

    ACKNOWLEDGMENT = "acknowledgment"
    SHIP_NOTICE = "ship_notice"
    INVOICE = "invoice"
    CHANGE_REQUEST = "change_request"
    UNKNOWN = "unknown"


class Category(StrEnum):
    """The kinds of exception poguard raises."""

    PRICE_VARIANCE = "price_variance"
    QUANTITY_MISMATCH = "quantity_mismatch"
    DATE_DEVIATION = "date_deviation"
    SKU_MISMATCH = "sku_mismatch"
    MISSING_DOCUMENTATION = "missing_documentation"
    UNAUTHORIZED_CHANGE = "unauthorized_change"
    UNACKNOWLEDGED_PO = "unacknowledged_po"
    UNMATCHED = "unmatched"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ExceptionStatus(StrEnum):
    OPEN = "open"
    AUTO_RESOLVED = "auto_resolved"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


class InboundStatus(StrEnum):
    """Where a stored arrival (file or message) stands. `received` waits for a worker; `rejected` is kept
    with its reason and tried again when the same content arrives again."""

    RECEIVED = "received"
    PROCESSED = "processed"
    REJECTED = "rejected"


INBOUND_TRANSITIONS: dict[InboundStatus, frozenset[InboundStatus]] = {
    InboundStatus.RECEIVED: frozenset({InboundStatus.PROCESSED, InboundStatus.REJECTED}),
    InboundStatus.REJECTED: frozenset({InboundStatus.RECEIVED}),
    InboundStatus.PROCESSED: frozenset(),
}


class LineStatus(StrEnum):
    """What the supplier says about a line (EDIFACT LIN action, X12 ACK status, email intent)."""

    ACCEPTED = "accepted"
    CHANGED = "changed"
    REJECTED = "rejected"
    ADDED = "added"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Supplier:
    supplier_id: str
    name: str
    emails: tuple[str, ...] = ()
    edi_ids: tuple[str, ...] = ()
    lead_time_days: int | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class POLine:
    """One line of a purchase order, as the buyer issued it."""

    po_number: str
    line: int
    supplier_id: str
    item: str
    supplier_item: str | None
    description: str
    quantity: Decimal
    uom: str
    unit_price: Decimal
    currency: str
    need_by: date
    buyer: str
    required_docs: tuple[str, ...] = ()
    item_group: str | None = None
    po_date: date | None = None
    payment_terms: str | None = None


@dataclass(frozen=True, slots=True)
class ContractPrice:
    """An agreed unit price for a supplier's item over a period (`valid_to` None: open-ended)."""

    supplier_id: str
    item: str
    unit_price: Decimal
    currency: str
    valid_from: date
    valid_to: date | None = None

    def applies_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    po_number: str
    supplier_id: str
    lines: tuple[POLine, ...]


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a parsed value came from (segment, page and box, text span) and how sure the parser is."""

    source: str
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Problem:
    """Something a parser could not read; `code` is stable kebab-case, `location` says where."""

    code: str
    message: str
    location: str | None = None


@dataclass(slots=True)
class ParsedLine:
    """One line of a supplier document, as the supplier wrote it (normalised, not interpreted)."""

    line: str | None = None
    po_line: str | None = None
    item: str | None = None
    supplier_item: str | None = None
    other_ids: tuple[str, ...] = ()
    description: str | None = None
    quantity: Decimal | None = None
    uom: str | None = None
    unit_price: Decimal | None = None
    delivery_date: date | None = None
    status: LineStatus = LineStatus.UNKNOWN
    provenance: dict[str, Provenance] = field(default_factory=dict)


@dataclass(slots=True)
class ParsedDocument:
    """One supplier document read by one parser. An interchange or an e-mail may hold several.

    `status` is the document's own verdict (a whole order accepted or rejected); `certificates` names the
    quality documents it is or carries (`CoC`, `MTR`); `origin` says where it sat (an e-mail attachment).
    """

    kind: DocumentKind
    parser: str
    number: str | None = None
    po_number: str | None = None
    issue_date: date | None = None
    currency: str | None = None
    total: Decimal | None = None
    sender: str | None = None
    supplier_order_number: str | None = None
    status: LineStatus = LineStatus.UNKNOWN
    payment_terms: str | None = None
    certificates: tuple[str, ...] = ()
    origin: str | None = None
    lines: list[ParsedLine] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    provenance: dict[str, Provenance] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LineMatch:
    """The PO line a document line refers to; `po_line` is None when nothing scored high enough."""

    line_index: int
    po_line: POLine | None
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class Deviation:
    """A rule's finding on one match: what was expected, what the supplier said, and how bad it is."""

    category: Category
    severity: Severity
    rule: str
    po_number: str | None
    line: int | None
    expected: str
    actual: str
    message: str
    value_at_stake: Decimal | None = None
    resolution: str | None = None
    """The rule that resolves this deviation on its own (low risk), or None when a person must act."""
