"""Encrypted local store: crypto envelope, key stores, SQLite models and repositories."""
