"""indexed item keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import poguard.tables

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('po_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('item_key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('supplier_item_key', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_po_lines_item_key'), ['item_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_po_lines_supplier_item_key'), ['supplier_item_key'], unique=False)
    _fill_keys()


def _compact(value: str | None) -> str | None:
    """matcher.compact_id as of this migration: upper case, letters and digits only."""
    return "".join(ch for ch in value.upper() if ch.isalnum()) if value else None


def _fill_keys() -> None:
    connection = op.get_bind()
    lines = sa.table("po_lines", sa.column("id"), sa.column("item"), sa.column("supplier_item"),
                     sa.column("item_key"), sa.column("supplier_item_key"))
    for row in connection.execute(sa.select(lines.c.id, lines.c.item, lines.c.supplier_item)).all():
        connection.execute(lines.update().where(lines.c.id == row.id).values(
            item_key=_compact(row.item), supplier_item_key=_compact(row.supplier_item)))


def downgrade() -> None:
    with op.batch_alter_table('po_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_po_lines_supplier_item_key'))
        batch_op.drop_index(batch_op.f('ix_po_lines_item_key'))
        batch_op.drop_column('supplier_item_key')
        batch_op.drop_column('item_key')

