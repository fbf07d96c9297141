"""Alembic environment: every package's SQLModel tables on one metadata."""

from alembic import context
from sqlalchemy import pool
from sqlmodel import SQLModel

import connectors.models  # noqa: F401  (registers tables)
import consent.models  # noqa: F401
import idp.models  # noqa: F401
import register.models  # noqa: F401
import wallet.gate.models
import wallet.models  # noqa: F401
from app.database import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
