"""gate evidence: entries carry what was verified (nonce, card digest, evidence) and who recorded them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('gaterequest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
    with op.batch_alter_table('gateevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(
            sa.Column('credential_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column('evidence', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch_op.create_unique_constraint('uq_gateevent_nonce', ['nonce'])
    with op.batch_alter_table('gaterefusal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch_op.create_index(batch_op.f('ix_gaterefusal_nonce'), ['nonce'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gaterefusal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gaterefusal_nonce'))
        batch_op.drop_column('recorded_by')
        batch_op.drop_column('nonce')
    with op.batch_alter_table('gaterequest', schema=None) as batch_op:
        batch_op.drop_column('created_by')
    with op.batch_alter_table('gateevent', schema=None) as batch_op:
        batch_op.drop_constraint('uq_gateevent_nonce', type_='unique')
        batch_op.drop_column('recorded_by')
        batch_op.drop_column('evidence')
        batch_op.drop_column('credential_digest')
        batch_op.drop_column('nonce')
    with op.batch_alter_table('gaterequest', schema=None) as batch_op:
        batch_op.drop_column('created_by')
