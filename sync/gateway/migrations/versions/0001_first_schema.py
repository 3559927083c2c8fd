"""The first released schema: received applications and 受付番号 counters (made by create_all).

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
    """Create the two tables exactly as the release before migrations did."""
    op.create_table(
        "received_applications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_code", sa.String(6), nullable=False),
        sa.Column("application_id", sa.String(26), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("uketsuke_bango", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.UniqueConstraint("tenant_code", "application_id",
                            name="uq_received_tenant_application"),
        sa.UniqueConstraint("tenant_code", "uketsuke_bango", name="uq_received_tenant_bango"),
    )
    op.create_table(
        "receipt_counters",
        sa.Column("tenant_code", sa.String(6), primary_key=True),
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last_value", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    """Forward-only."""
    raise NotImplementedError("the gateway database only migrates forward")
