"""trust course scope: each trusted issuing body lists the courses it may certify (issue 12 item 9)

An entry added before this revision lists no course and so certifies none until the operator
re-adds it with ``genba trust add --course ...`` or ``genba trust import-source``: a body trusted
for "anything" is exactly what item 9 removes.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('trustedissuer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('courses', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('trustedissuer', schema=None) as batch_op:
        batch_op.drop_column('courses')
