"""Stored rows (SQLAlchemy 2.0 typed mappings). The schema changes only through Alembic migrations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "AuditEvent",
    "Base",
    "DocumentRow",
    "ExceptionRow",
    "ChannelRow",
    "acted_on",
    "ContractPriceRow",
    "DigestRow",
    "ItemCrossReference",
    "InboundFile",
    "LedgerEntry",
    "MatchRow",
    "POLineRow",
    "PurchaseOrderRow",
    "SupplierRow",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """Decimal stored without float rounding: NUMERIC on PostgreSQL, text on SQLite (which has no decimal)."""

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(28, 8, asdecimal=True))
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).normalize() if dialect.name == "postgresql" else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware instants, stored in UTC on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: poguard stores timezone-aware instants only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SupplierRow(Base):
    __tablename__ = "suppliers"

    supplier_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    edi_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    country: Mapped[str | None] = mapped_column(String(2))


class PurchaseOrderRow(Base):
    """A PO; `po_key` is its number normalised (matcher.normalise_po_reference), for messy references."""

    __tablename__ = "purchase_orders"

    po_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    po_key: Mapped[str] = mapped_column(String(64), index=True)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.supplier_id"), index=True)
    po_date: Mapped[date | None] = mapped_column(Date)
    payment_terms: Mapped[str | None] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lines: Mapped[list[POLineRow]] = relationship(back_populates="order", order_by="POLineRow.line")


class POLineRow(Base):
    """A PO line; `item_key` and `supplier_item_key` are the items as `matcher.compact_id` compares them, indexed
    to find a supplier's POs holding a document's items without loading every line."""

    __tablename__ = "po_lines"
    __table_args__ = (UniqueConstraint("po_number", "line", name="uq_po_lines_po_number_line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    po_number: Mapped[str] = mapped_column(ForeignKey("purchase_orders.po_number"))
    line: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(100))
    supplier_item: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    uom: Mapped[str] = mapped_column(String(16))
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    need_by: Mapped[date] = mapped_column(Date)
    buyer: Mapped[str] = mapped_column(String(200))
    required_docs: Mapped[list[str]] = mapped_column(JSON, default=list)
    item_group: Mapped[str | None] = mapped_column(String(100))
    item_key: Mapped[str | None] = mapped_column(String(100), index=True)
    supplier_item_key: Mapped[str | None] = mapped_column(String(100), index=True)
    order: Mapped[PurchaseOrderRow] = relationship(back_populates="lines")


class InboundFile(Base):
    """A file or message as it arrived, kept raw: nothing that reached poguard is lost."""

    __tablename__ = "inbound_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(500))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    parser: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(100), default="cli")
    sender: Mapped[str | None] = mapped_column(String(320))
    message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    documents: Mapped[list[DocumentRow]] = relationship(back_populates="inbound", order_by="DocumentRow.position")


class DocumentRow(Base):
    """One parsed supplier document; `data` holds the whole parse (lines, provenance, problems)."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("inbound_id", "position", name="uq_documents_inbound_id_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_files.id"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    parser: Mapped[str] = mapped_column(String(32))
    number: Mapped[str | None] = mapped_column(String(100))
    po_number: Mapped[str | None] = mapped_column(String(100), index=True)
    sender: Mapped[str | None] = mapped_column(String(200))
    supplier_id: Mapped[str | None] = mapped_column(String(64), index=True)
    supplier_order_number: Mapped[str | None] = mapped_column(String(100), index=True)
    po_reason: Mapped[str | None] = mapped_column(Text)
    trust: Mapped[str] = mapped_column(String(16), default="verified")
    """`verified`, or `unverified` for a held document (poguard.trust)."""
    trust_reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    inbound: Mapped[InboundFile] = relationship(back_populates="documents")


VERIFIED = "verified"


def acted_on() -> Any:
    """The documents poguard acts on: from verified senders (held ones are only shown)."""
    return DocumentRow.trust == VERIFIED


class MatchRow(Base):
    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    line_index: Mapped[int] = mapped_column(Integer)
    po_line_id: Mapped[int | None] = mapped_column(ForeignKey("po_lines.id"))
    score: Mapped[float]
    reason: Mapped[str] = mapped_column(Text)


class ExceptionRow(Base):
    __tablename__ = "exceptions"
    __table_args__ = (Index("ix_exceptions_status_due", "status", "due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    source_kind: Mapped[str] = mapped_column(String(32), default="acknowledgment")
    supplier_id: Mapped[str | None] = mapped_column(String(64))
    po_number: Mapped[str | None] = mapped_column(String(100), index=True)
    line: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(String(100))
    expected: Mapped[str] = mapped_column(Text)
    actual: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    value_at_stake: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    owner: Mapped[str] = mapped_column(String(200))
    due: Mapped[date] = mapped_column(Date)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    escalated_to: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """One change: what (entity, id, action), from what to what (`changes`), by whom or which rule, when."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(200))


class LedgerEntry(Base):
    """One message or file seen on a channel, so it is fetched once; `acknowledged_at` is set once it was
    moved to the processed or quarantine folder, after the commit of its processing."""

    __tablename__ = "ingest_ledger"
    __table_args__ = (
        UniqueConstraint("channel", "folder", "uidvalidity", "uid", name="uq_ingest_ledger_channel_uid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(BigInteger, default=0)
    uid: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_files.id"), index=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    inbound: Mapped[InboundFile] = relationship()


class ChannelRow(Base):
    """A mailbox or EDI drop: who holds its lease, and how its last polls went."""

    __tablename__ = "channels"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_poll_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received: Mapped[int] = mapped_column(Integer, default=0)


class ContractPriceRow(Base):
    """An agreed price for a supplier's item, valid over a period (`poguard import-prices`)."""

    __tablename__ = "contract_prices"
    __table_args__ = (UniqueConstraint("supplier_id", "item", "valid_from", name="uq_contract_prices_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.supplier_id"))
    item: Mapped[str] = mapped_column(String(100))
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class ItemCrossReference(Base):
    """A supplier's item number known to be one of our items, learned from confirmed matches."""

    __tablename__ = "item_xref"
    __table_args__ = (UniqueConstraint("supplier_id", "supplier_item", name="uq_item_xref_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[str] = mapped_column(String(64))
    supplier_item: Mapped[str] = mapped_column(String(100))
    item: Mapped[str] = mapped_column(String(100))
    learned_from: Mapped[str] = mapped_column(String(200))


class DigestRow(Base):
    """A person's daily digest, claimed before it is sent: the unique (recipient, digest_date) makes it go out at
    most once a day; `sent_at` stays empty until the server took it."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("recipient", "digest_date", name="uq_digests_recipient_digest_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    digest_date: Mapped[date] = mapped_column(Date)
    message_id: Mapped[str] = mapped_column(String(500))
    exception_count: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
