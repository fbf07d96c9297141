"""one credential root: a partial unique index so concurrent workers cannot create two roots

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 12:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ux_issuerkey_one_root',
        'issuerkey',
        ['kind'],
        unique=True,
        sqlite_where=sa.text("kind = 'root'"),
        postgresql_where=sa.text("kind = 'root'"),
    )


def downgrade() -> None:
    op.drop_index('ux_issuerkey_one_root', table_name='issuerkey')
