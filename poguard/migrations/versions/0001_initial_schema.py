"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import poguard.tables

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', poguard.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_entity', ['entity', 'entity_id'], unique=False)

    op.create_table('inbound_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', poguard.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('parser', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_files')),
    sa.UniqueConstraint('sha256', name=op.f('uq_inbound_files_sha256'))
    )
    op.create_table('suppliers',
    sa.Column('supplier_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('emails', sa.JSON(), nullable=False),
    sa.Column('edi_ids', sa.JSON(), nullable=False),
    sa.Column('lead_time_days', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('supplier_id', name=op.f('pk_suppliers'))
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbound_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('parser', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=True),
    sa.Column('po_number', sa.String(length=100), nullable=True),
    sa.Column('sender', sa.String(length=200), nullable=True),
    sa.Column('supplier_id', sa.String(length=64), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', poguard.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inbound_id'], ['inbound_files.id'], name=op.f('fk_documents_inbound_id_inbound_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('inbound_id', 'position', name='uq_documents_inbound_id_position')
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_po_number'), ['po_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('purchase_orders',
    sa.Column('po_number', sa.String(length=64), nullable=False),
    sa.Column('po_key', sa.String(length=64), nullable=False),
    sa.Column('supplier_id', sa.String(length=64), nullable=False),
    sa.Column('imported_at', poguard.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.supplier_id'], name=op.f('fk_purchase_orders_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('po_number', name=op.f('pk_purchase_orders'))
    )
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_orders_po_key'), ['po_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_orders_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.String(length=64), nullable=True),
    sa.Column('po_number', sa.String(length=100), nullable=True),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.String(length=100), nullable=False),
    sa.Column('expected', sa.Text(), nullable=False),
    sa.Column('actual', sa.Text(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('value_at_stake', poguard.tables.ExactDecimal(length=64), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('created_at', poguard.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', poguard.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_exceptions_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exceptions'))
    )
    with op.batch_alter_table('exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exceptions_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exceptions_po_number'), ['po_number'], unique=False)
        batch_op.create_index('ix_exceptions_status_due', ['status', 'due'], unique=False)

    op.create_table('po_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('po_number', sa.String(length=64), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=100), nullable=False),
    sa.Column('supplier_item', sa.String(length=100), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('quantity', poguard.tables.ExactDecimal(length=64), nullable=False),
    sa.Column('uom', sa.String(length=16), nullable=False),
    sa.Column('unit_price', poguard.tables.ExactDecimal(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('need_by', sa.Date(), nullable=False),
    sa.Column('buyer', sa.String(length=200), nullable=False),
    sa.Column('required_docs', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['po_number'], ['purchase_orders.po_number'], name=op.f('fk_po_lines_po_number_purchase_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_po_lines')),
    sa.UniqueConstraint('po_number', 'line', name='uq_po_lines_po_number_line')
    )
    op.create_table('matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('line_index', sa.Integer(), nullable=False),
    sa.Column('po_line_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_matches_document_id_documents')),
    sa.ForeignKeyConstraint(['po_line_id'], ['po_lines.id'], name=op.f('fk_matches_po_line_id_po_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matches'))
    )
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matches_document_id'), ['document_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matches_document_id'))

    op.drop_table('matches')
    op.drop_table('po_lines')
    with op.batch_alter_table('exceptions', schema=None) as batch_op:
        batch_op.drop_index('ix_exceptions_status_due')
        batch_op.drop_index(batch_op.f('ix_exceptions_po_number'))
        batch_op.drop_index(batch_op.f('ix_exceptions_document_id'))

    op.drop_table('exceptions')
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_orders_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_orders_po_key'))

    op.drop_table('purchase_orders')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_documents_po_number'))

    op.drop_table('documents')
    op.drop_table('suppliers')
    op.drop_table('inbound_files')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_entity')

    op.drop_table('audit_events')
