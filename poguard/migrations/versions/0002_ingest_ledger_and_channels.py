"""ingest ledger and channels

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import poguard.tables

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channels',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_until', poguard.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_poll_at', poguard.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', poguard.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', poguard.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_channels'))
    )
    op.create_table('ingest_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('folder', sa.String(length=500), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.String(length=500), nullable=False),
    sa.Column('message_id', sa.String(length=500), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('inbound_id', sa.Integer(), nullable=False),
    sa.Column('seen_at', poguard.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', poguard.tables.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['inbound_id'], ['inbound_files.id'], name=op.f('fk_ingest_ledger_inbound_id_inbound_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_ledger')),
    sa.UniqueConstraint('channel', 'folder', 'uidvalidity', 'uid', name='uq_ingest_ledger_channel_uid')
    )
    with op.batch_alter_table('ingest_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_ledger_inbound_id'), ['inbound_id'], unique=False)

    with op.batch_alter_table('inbound_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=100), nullable=False, server_default='cli'))
        batch_op.add_column(sa.Column('sender', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('processed_at', poguard.tables.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_inbound_files_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_files_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_files_status'))
        batch_op.drop_index(batch_op.f('ix_inbound_files_message_id'))
        batch_op.drop_column('processed_at')
        batch_op.drop_column('message_id')
        batch_op.drop_column('sender')
        batch_op.drop_column('channel')

    with op.batch_alter_table('ingest_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_ledger_inbound_id'))

    op.drop_table('ingest_ledger')
    op.drop_table('channels')
