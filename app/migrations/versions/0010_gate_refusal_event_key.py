"""gate refusal event key: a refused check uploaded twice is recorded once

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 13:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('gaterefusal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch_op.create_unique_constraint('uq_gaterefusal_event_key', ['event_key'])


def downgrade() -> None:
    with op.batch_alter_table('gaterefusal', schema=None) as batch_op:
        batch_op.drop_constraint('uq_gaterefusal_event_key', type_='unique')
        batch_op.drop_column('event_key')
