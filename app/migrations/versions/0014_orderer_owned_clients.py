"""orderer-owned clients: a system registered for an orderer (発注者) acts for it (docs/domain.md rule 5)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('oauthclient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_orderer_pk', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_oauthclient_owner_orderer', 'orderer', ['owner_orderer_pk'], ['id'])
        batch_op.create_check_constraint(
            'ck_oauthclient_one_owner', 'owner_employer_pk IS NULL OR owner_orderer_pk IS NULL'
        )


def downgrade() -> None:
    with op.batch_alter_table('oauthclient', schema=None) as batch_op:
        batch_op.drop_constraint('ck_oauthclient_one_owner', type_='check')
        batch_op.drop_constraint('fk_oauthclient_owner_orderer', type_='foreignkey')
        batch_op.drop_column('owner_orderer_pk')
