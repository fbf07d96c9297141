"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL:
a model change without its migration (or the reverse) fails here, before it reaches a deployment."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import SQLModel

import connectors.models
import consent.models
import idp.models
import wallet.gate.models
import wallet.models

#: imported so that every table is in SQLModel.metadata
MODELS = (idp.models, consent.models, connectors.models, wallet.models, wallet.gate.models)


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    """Alembic autogenerate comparison of the migrated database (head) with SQLModel metadata."""
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_one_credential_root_is_enforced_by_the_database(engine: Engine) -> None:
    """The partial unique index of migration 0009 exists on this backend (wallet.keys relies on it)."""
    from sqlalchemy import inspect

    indexes = {i["name"]: i for i in inspect(engine).get_indexes("issuerkey")}
    assert indexes["ux_issuerkey_one_root"]["unique"]
