"""ops purge indexes: expired interactions, pushed requests, codes and throttle counters are deleted by date

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 06:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ('interaction', 'expires_at'),
    ('pushedrequest', 'expires_at'),
    ('authorizationcode', 'expires_at'),
    ('throttleentry', 'first_failure_at'),
)


def upgrade() -> None:
    for table, column in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
