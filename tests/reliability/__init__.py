"""Reliability acceptance tests: kill -9, torn WAL, disk errors, PII hygiene."""
