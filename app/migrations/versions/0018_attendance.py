"""attendance: each gate entry/exit as its own row, site rules, employer settings, month summaries (issue 16)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 21:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import idp.models.types

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'attendanceevent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('technician_id', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
        sa.Column('employer_id', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
        sa.Column('site_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('at', idp.models.types.UTCDateTime(), nullable=False),
        sa.Column('verified', sa.Boolean(), nullable=False),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('received_at', idp.models.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_key'),
    )
    op.create_index('ix_attendanceevent_technician_at', 'attendanceevent', ['technician_id', 'at'], unique=False)
    op.create_table(
        'attendancesiterule',
        sa.Column('site_pk', sa.Integer(), nullable=False),
        sa.Column('opened_on', sa.Date(), nullable=False),
        sa.Column('break_minutes', sa.Integer(), nullable=False),
        sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('updated_at', idp.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['site_pk'], ['site.id']),
        sa.PrimaryKeyConstraint('site_pk'),
    )
    op.create_table(
        'attendancesettings',
        sa.Column('employer_pk', sa.Integer(), nullable=False),
        sa.Column('special_clause', sa.Boolean(), nullable=False),
        sa.Column('daily_statutory_minutes', sa.Integer(), nullable=False),
        sa.Column('weekly_statutory_minutes', sa.Integer(), nullable=False),
        sa.Column('week_starts_on', sa.Integer(), nullable=False),
        sa.Column('agreement_year_start_month', sa.Integer(), nullable=False),
        sa.Column('warning_fraction', sa.Float(), nullable=False),
        sa.Column('legal_holiday_weekday', sa.Integer(), nullable=True),
        sa.Column('updated_at', idp.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['employer_pk'], ['employer.id']),
        sa.PrimaryKeyConstraint('employer_pk'),
    )
    op.create_table(
        'attendancemonth',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
        sa.Column('employer_id', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('worked_minutes', sa.Integer(), nullable=False),
        sa.Column('overtime_minutes', sa.Integer(), nullable=False),
        sa.Column('holiday_work_minutes', sa.Integer(), nullable=False),
        sa.Column('flagged_days', sa.Integer(), nullable=False),
        sa.Column('kentaikyo_days', sa.Integer(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('computed_at', idp.models.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('technician_id', 'employer_id', 'month'),
    )
    op.create_index(op.f('ix_attendancemonth_employer_id'), 'attendancemonth', ['employer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_attendancemonth_employer_id'), table_name='attendancemonth')
    op.drop_table('attendancemonth')
    op.drop_table('attendancesettings')
    op.drop_table('attendancesiterule')
    op.drop_index('ix_attendanceevent_technician_at', table_name='attendanceevent')
    op.drop_table('attendanceevent')
