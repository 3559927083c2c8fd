"""Kill -9 rounds: start a store worker, let it work, SIGKILL it at a random moment, repeat."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.reliability.workload import Zygote

SEED_ENV = "RELIABILITY_SEED"  # set it to replay a failed run with the seed it printed


def seed() -> int:
    """The run's seed: from RELIABILITY_SEED, or fresh; printed so a failure can be replayed."""
    value = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(2**32))
    print(f"{SEED_ENV}={value}")
    return value


def kill_rounds(
    workload: str, folder: Path, key: bytes, rounds: int, rng: random.Random,
    on_line: Callable[[str], None], *, kill_after: Callable[[str], bool], most: int = 12,
) -> int:
    """Run `rounds` workers one after another on the same store, each ended by SIGKILL.

    Each round kills at one of two kinds of moment, drawn from `rng`: a random delay after the
    worker started (often while the store is still opening), or a random delay after the n-th
    line (n from 1 to `most`) for which `kill_after` is true (mid-transaction, mid-fsync,
    between commits). Every complete line a worker wrote goes to `on_line`, also those written
    between the decision to kill and the kill.

    Returns:
        How many workers were killed (a worker that ends by itself fails the run).
    """
    zygote = Zygote(folder, key)
    kills = 0
    try:
        for _round in range(rounds):
            zygote.start(workload, rng.randrange(2**32))
            if rng.random() < 0.1:
                time.sleep(rng.uniform(0, 0.05))
            else:
                target, delay = rng.randint(1, most), rng.uniform(0, 0.004)
                seen = 0
                for line in zygote.lines():
                    on_line(line)
                    seen += kill_after(line)
                    if seen >= target:
                        break
                time.sleep(delay)
            if zygote.exit_code is None:
                zygote.kill()
            for line in zygote.finish():
                on_line(line)
            if zygote.exit_code != -signal.SIGKILL:
                raise AssertionError(
                    f"worker ended by itself (code {zygote.exit_code}):\n{zygote.stderr_tail()}"
                )
            kills += 1
    finally:
        if zygote.exit_code is None:
            zygote.kill()
            zygote.finish()
        zygote.close()
    return kills
