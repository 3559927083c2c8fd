"""Alembic migrations of the gateway database: forward-only, one file per released schema."""
