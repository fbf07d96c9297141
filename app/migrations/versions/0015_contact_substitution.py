"""contact substitution per technician: an employer overrides its default for one technician (rule 3)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('affiliation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_substitution', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('affiliation', schema=None) as batch_op:
        batch_op.drop_column('contact_substitution')
