"""Alembic environment: runs inside the vaxchain app context (see core/schema.py), online only."""
from alembic import context

# Import every model so autogenerate compares against the whole schema.
from core import models  # noqa: F401
from core.db import db


def run_migrations_online():
    with db.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=db.metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("vaxchain migrations run online only: use `vaxchain init`.")
run_migrations_online()
