"""Alembic migrations of the device store: forward-only, one file per released schema."""
