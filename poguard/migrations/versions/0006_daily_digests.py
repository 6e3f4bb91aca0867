"""daily digests

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import poguard.tables

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('digest_date', sa.Date(), nullable=False),
    sa.Column('message_id', sa.String(length=500), nullable=False),
    sa.Column('exception_count', sa.Integer(), nullable=False),
    sa.Column('sent_at', poguard.tables.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digests')),
    sa.UniqueConstraint('recipient', 'digest_date', name='uq_digests_recipient_digest_date')
    )


def downgrade() -> None:
    op.drop_table('digests')
