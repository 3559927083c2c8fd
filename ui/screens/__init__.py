"""Screens built in code from catalog steps."""
