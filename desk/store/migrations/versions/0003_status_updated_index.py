"""Index drafts by status and last activity (every-desk listing, first page, retention).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the index; no data changes."""
    op.create_index("ix_drafts_status_updated", "drafts", ["status", "updated_at"])


def downgrade() -> None:
    """Forward-only."""
    raise NotImplementedError("the device store only migrates forward")
