"""Alembic environment: runs migrations on the connection sync.gateway.schema hands over."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
# transactional_ddl: SQLite and PostgreSQL both run DDL inside the caller's transaction, so an
# upgrade either completes or leaves the old schema untouched.
context.configure(connection=connection, transactional_ddl=True, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
