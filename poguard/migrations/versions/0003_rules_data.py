"""rules data

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import poguard.tables

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('item_xref',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.String(length=64), nullable=False),
    sa.Column('supplier_item', sa.String(length=100), nullable=False),
    sa.Column('item', sa.String(length=100), nullable=False),
    sa.Column('learned_from', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_xref')),
    sa.UniqueConstraint('supplier_id', 'supplier_item', name='uq_item_xref_key')
    )
    op.create_table('contract_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.String(length=64), nullable=False),
    sa.Column('item', sa.String(length=100), nullable=False),
    sa.Column('unit_price', poguard.tables.ExactDecimal(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.supplier_id'], name=op.f('fk_contract_prices_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_prices')),
    sa.UniqueConstraint('supplier_id', 'item', 'valid_from', name='uq_contract_prices_key')
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supplier_order_number', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('po_reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_documents_supplier_order_number'), ['supplier_order_number'], unique=False)

    with op.batch_alter_table('exceptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_kind', sa.String(length=32), nullable=False, server_default='acknowledgment'))
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('escalated_to', sa.String(length=200), nullable=True))
        batch_op.alter_column('document_id',
               existing_type=sa.INTEGER(),
               nullable=True)

    with op.batch_alter_table('po_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('item_group', sa.String(length=100), nullable=True))

    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('po_date', sa.Date(), nullable=True))

    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country', sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.drop_column('country')

    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_column('po_date')

    with op.batch_alter_table('po_lines', schema=None) as batch_op:
        batch_op.drop_column('item_group')

    with op.batch_alter_table('exceptions', schema=None) as batch_op:
        batch_op.alter_column('document_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('escalated_to')
        batch_op.drop_column('resolved_by')
        batch_op.drop_column('source_kind')

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_supplier_order_number'))
        batch_op.drop_column('po_reason')
        batch_op.drop_column('supplier_order_number')

    op.drop_table('contract_prices')
    op.drop_table('item_xref')
