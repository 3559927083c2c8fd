"""The linkage profile: lifecycle and feeds, callers and tokens, handoffs, registry, CSV.

Applications received before this release keep their 受付番号 and stored response; each gets
status RECEIVED at version 1 with one history event, its device and channel from the stored
payload, and a feed position in the order it was received.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Rows are read and updated in slices so a large database never sits in memory at once.
_BATCH = 500

# Frozen copies of the columns the data step touches (never the live models: a later release
# may change those, and this script must keep doing what it did).
_applications = sa.table(
    "received_applications",
    sa.column("id", sa.Integer()),
    sa.column("tenant_code", sa.String()),
    sa.column("payload_json", sa.Text()),
    sa.column("received_at", sa.DateTime()),
    sa.column("status", sa.String()),
    sa.column("device_id", sa.String()),
    sa.column("channel", sa.String()),
    sa.column("audit_head", sa.String()),
    sa.column("version", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("updated_at", sa.DateTime()),
)

_RECEIVED = "RECEIVED"
# The columns that become NOT NULL once filled, with their exact types.
_NEW_COLUMNS: dict[str, sa.types.TypeEngine[Any]] = {
    "device_id": sa.String(64),
    "channel": sa.String(16),
    "version": sa.Integer(),
    "seq": sa.Integer(),
    "updated_at": sa.DateTime(),
}


def _text(metadata: dict[str, Any], name: str, limit: int, fallback: str | None) -> str | None:
    value = metadata.get(name)
    return value[:limit] if isinstance(value, str) and value else fallback


def _fill_received_applications() -> None:
    """Give every application received by the first release its lifecycle fields."""
    bind = op.get_bind()
    last_seq: dict[str, int] = {}
    after = 0
    while True:
        rows = bind.execute(
            sa.select(_applications.c.id, _applications.c.tenant_code,
                      _applications.c.payload_json, _applications.c.received_at)
            .where(_applications.c.id > after)
            .order_by(_applications.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        for pk, tenant, payload_json, received_at in rows:
            try:
                metadata = json.loads(payload_json).get("metadata", {})
            except (ValueError, AttributeError):
                metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            # Positions follow the order of receipt, per tenant, as new ones will.
            last_seq[tenant] = last_seq.get(tenant, 0) + 1
            bind.execute(
                _applications.update()
                .where(_applications.c.id == pk)
                .values(
                    status=_RECEIVED,
                    device_id=_text(metadata, "deviceId", 64, "unknown"),
                    channel=_text(metadata, "channel", 16, "kiosk"),
                    audit_head=_text(metadata, "auditHead", 128, None),
                    version=1,
                    seq=last_seq[tenant],
                    updated_at=received_at,
                )
            )
        after = rows[-1][0]


def _add_lifecycle_columns() -> None:
    """Add the lifecycle columns to received_applications, filled, then NOT NULL."""
    # SQLite cannot add a NOT NULL column without a default: add nullable, fill, then let
    # batch mode rebuild the table with the constraints. This runs before any table refers to
    # received_applications, so the rebuild's DROP cannot cascade into other rows.
    for name, type_ in _NEW_COLUMNS.items():
        op.add_column("received_applications", sa.Column(name, type_))
    op.add_column("received_applications", sa.Column("audit_head", sa.String(128)))
    _fill_received_applications()
    with op.batch_alter_table("received_applications") as batch:
        for name, type_ in _NEW_COLUMNS.items():
            batch.alter_column(name, existing_type=type_, nullable=False)
        batch.create_unique_constraint("uq_received_tenant_seq", ["tenant_code", "seq"])
    op.create_index("ix_received_device_feed", "received_applications",
                    ["tenant_code", "device_id", "seq"])


def _history_and_feed_counters() -> None:
    """One RECEIVED event per existing application, and each tenant's last feed position."""
    op.execute(
        "INSERT INTO application_status_events "
        "(application_pk, status, version, at, reason_code, actor) "
        "SELECT id, 'RECEIVED', 1, received_at, NULL, device_id "
        "FROM received_applications ORDER BY id"
    )
    op.execute(
        "INSERT INTO feed_counters (tenant_code, last_seq) "
        "SELECT tenant_code, MAX(seq) FROM received_applications GROUP BY tenant_code"
    )


def upgrade() -> None:
    """Lifecycle columns with values for existing rows, then the profile's new tables."""
    _add_lifecycle_columns()
    op.create_table(
        "application_status_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_pk", sa.Integer(),
                  sa.ForeignKey("received_applications.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("reason_code", sa.String(32)),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.UniqueConstraint("application_pk", "version", name="uq_status_event_version"),
    )
    op.create_table(
        "feed_counters",
        sa.Column("tenant_code", sa.String(6), primary_key=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("client_id", sa.String(32), primary_key=True),
        sa.Column("secret_salt", sa.String(32), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("tenant_code", sa.String(6), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("privileged", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_devices_tenant_device", "devices", ["tenant_code", "device_id"])
    op.create_table(
        "access_tokens",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(32),
                  sa.ForeignKey("devices.client_id", ondelete="CASCADE"), nullable=False),
        sa.Column("tenant_code", sa.String(6), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_access_tokens_client_id", "access_tokens", ["client_id"])
    op.create_index("ix_access_tokens_expires", "access_tokens", ["expires_at"])
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_code", sa.String(6), nullable=False),
        sa.Column("reference_code", sa.String(9), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("draft_id", sa.String(26), nullable=False),
        sa.Column("procedure_ids_json", sa.Text(), nullable=False),
        sa.Column("answers_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("tenant_code", "reference_code", name="uq_handoffs_tenant_code"),
    )
    op.create_index("ix_handoffs_expires_at", "handoffs", ["expires_at"])
    op.create_table(
        "handoff_pickups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_code", sa.String(6), nullable=False),
        sa.Column("reference_code", sa.String(9), nullable=False),
        sa.Column("draft_id", sa.String(26), nullable=False),
        sa.Column("pushed_by", sa.String(64), nullable=False),
        sa.Column("picked_up_by", sa.String(64), nullable=False),
        sa.Column("picked_up_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "registry_residents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_code", sa.String(6), nullable=False),
        sa.Column("shimei", sa.String(100), nullable=False),
        sa.Column("shimei_furigana", sa.String(100), nullable=False),
        sa.Column("seinengappi", sa.String(10), nullable=False),
        sa.Column("seibetsu", sa.String(1), nullable=False),
        sa.Column("jusho_yubinbango", sa.String(7), nullable=False),
        sa.Column("jusho", sa.String(200), nullable=False),
        sa.Column("jusho_choazakodo", sa.String(7)),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_registry_tenant_birth", "registry_residents",
                    ["tenant_code", "seinengappi"])
    op.create_table(
        "registry_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("tenant_code", sa.String(6), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
    )
    op.create_table(
        "csv_batches",
        sa.Column("batch_id", sa.String(26), primary_key=True),
        sa.Column("tenant_code", sa.String(6), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=False),
        sa.Column("written_at", sa.DateTime()),
        sa.Column("files_json", sa.Text()),
    )
    op.create_index("ix_csv_batches_pending", "csv_batches", ["written_at", "lease_until"])
    op.create_table(
        "csv_exports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_code", sa.String(6), nullable=False),
        sa.Column("application_id", sa.String(26), nullable=False),
        sa.Column("batch_id", sa.String(26), sa.ForeignKey("csv_batches.batch_id"),
                  nullable=False),
        sa.Column("exported_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("tenant_code", "application_id", name="uq_csv_exports_application"),
    )
    op.create_index("ix_csv_exports_batch", "csv_exports", ["batch_id"])

    _history_and_feed_counters()


def downgrade() -> None:
    """Forward-only."""
    raise NotImplementedError("the gateway database only migrates forward")
