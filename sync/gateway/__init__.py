"""The reference gateway: the municipal end of the linkage API (FastAPI + SQLAlchemy)."""
