"""holder wallet clients: only clients registered as a holder's wallet may receive credentials

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('oauthclient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder_wallet', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('oauthclient', schema=None) as batch_op:
        batch_op.drop_column('holder_wallet')
