"""The first released schema: drafts and the outbox (stores made before Alembic are this).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create drafts and outbox exactly as the first release did."""
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("procedure_ids", sa.String(1024), nullable=False),
        sa.Column("life_event_id", sa.String(64)),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("desk_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reference_code", sa.String(16), nullable=False, unique=True),
        sa.Column("position", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("kek_id", sa.String(64), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary()),
        sa.Column("answers", sa.LargeBinary()),
        sa.Column("uketsuke_bango", sa.String(32)),
        sa.Column("received_at", sa.DateTime()),
    )
    op.create_index("ix_drafts_status", "drafts", ["status"])
    op.create_index("ix_drafts_updated_at", "drafts", ["updated_at"])
    op.create_table(
        "outbox",
        sa.Column("application_id", sa.String(26), sa.ForeignKey("drafts.id"),
                  primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.LargeBinary()),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("last_error", sa.String(200)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_outbox_state", "outbox", ["state"])


def downgrade() -> None:
    """Forward-only."""
    raise NotImplementedError("the device store only migrates forward")
