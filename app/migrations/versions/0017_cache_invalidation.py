"""cache invalidation: PostgreSQL tells every worker at COMMIT which cached row changed (issue 14)

Row triggers on the tables the workers cache (clients, grants, revoked access tokens, accounts) send
``NOTIFY genba_invalidation`` with the table and the row's key; PostgreSQL delivers a notification
only when (and if) the writing transaction commits, whoever wrote (a worker, the CLI, psql). A
TRUNCATE says "every row". The sequence numbers the writers' fences (app/invalidation_pg.py). SQLite
has no notifications: each worker checks the file's ``PRAGMA data_version`` instead (nothing here).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 20:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table -> (its key column, the row changes that can make a cached copy wrong)
CACHED = {
    'oauthclient': ('client_id', 'UPDATE OR DELETE'),
    'oauthgrant': ('grant_id', 'UPDATE OR DELETE'),
    'revokedtoken': ('jti', 'INSERT OR UPDATE OR DELETE'),
    'account': ('id', 'UPDATE OR DELETE'),
}

FUNCTION = """
CREATE OR REPLACE FUNCTION genba_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_LEVEL = 'STATEMENT' THEN
    PERFORM pg_notify('genba_invalidation', json_build_object('t', TG_TABLE_NAME, 'k', NULL)::text);
  ELSE
    PERFORM pg_notify('genba_invalidation', json_build_object('t', TG_TABLE_NAME, 'k',
      (CASE WHEN TG_OP = 'INSERT' THEN to_jsonb(NEW) ELSE to_jsonb(OLD) END) ->> TG_ARGV[0])::text);
  END IF;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('CREATE SEQUENCE genba_fence')
    op.execute(FUNCTION)
    for table, (key, events) in CACHED.items():
        op.execute(
            f'CREATE TRIGGER {table}_invalidate AFTER {events} ON "{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION genba_invalidate('{key}')"
        )
        op.execute(
            f'CREATE TRIGGER {table}_invalidate_all AFTER TRUNCATE ON "{table}" '
            'FOR EACH STATEMENT EXECUTE FUNCTION genba_invalidate()'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in CACHED:
        op.execute(f'DROP TRIGGER IF EXISTS {table}_invalidate_all ON "{table}"')
        op.execute(f'DROP TRIGGER IF EXISTS {table}_invalidate ON "{table}"')
    op.execute('DROP FUNCTION IF EXISTS genba_invalidate()')
    op.execute('DROP SEQUENCE IF EXISTS genba_fence')
