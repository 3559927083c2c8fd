"""Alembic environment: runs migrations on the connection desk.store.schema hands over."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
# transactional_ddl: SQLite runs DDL inside the caller's BEGIN IMMEDIATE, so an upgrade
# either completes or leaves the old schema untouched.
context.configure(connection=connection, transactional_ddl=True, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
