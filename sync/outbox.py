"""Deliver finalized applications from the store's outbox: exactly once, with persisted backoff."""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass, field

from desk.store.drafts import DraftStore
from sync.client import LinkageClient
from sync.errors import RejectedError, TransientError
from sync.protocol import ApplicationPayload

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 15 * 60.0


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base · 2^attempts)]."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** min(attempts, 20)))
    return (rng or random.SystemRandom()).uniform(0, ceiling)


@dataclass
class DeliveryReport:
    """What one pass over the outbox did (ids and 受付番号 only)."""

    received: dict[str, str] = field(default_factory=dict)  # application id → 受付番号
    retrying: list[str] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)


def deliver_due(
    store: DraftStore,
    client: LinkageClient,
    *,
    now: dt.datetime | None = None,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Send every due outbox item once.

    A transient failure schedules the next attempt (stored, so it survives restarts); a
    refusal parks the item for staff so it never blocks the rest of the queue. An item is
    done only when its receipt is stored.
    """
    report = DeliveryReport()
    for entry in store.claim_due(now):
        payload = ApplicationPayload.model_validate(entry.payload)
        try:
            receipt = client.submit(payload)
        except TransientError as error:
            delay = backoff_seconds(entry.attempts, rng)
            if error.retry_after is not None:
                delay = max(delay, error.retry_after)
            moment = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=delay)
            store.record_retry(entry.application_id, moment, str(error.status or "network"))
            report.retrying.append(entry.application_id)
            log.info("delivery deferred (status %s)", error.status or "network")
        except RejectedError as error:
            store.record_attention(entry.application_id, ",".join(error.codes) or str(error.status))
            report.needs_attention.append(entry.application_id)
            log.warning("delivery refused (status %s)", error.status)
        else:
            store.record_receipt(entry.application_id, receipt.uketsuke_bango,
                                 receipt.received_at)
            report.received[entry.application_id] = receipt.uketsuke_bango
    return report
