"""Shared-memory bulk output: our bench worker against the reference's own.

The reference Python client (``WorkerPool(shm_size=64 MiB)``) pulls 8 batches
of 1M int64 rows from each worker in turn, releasing every batch once read,
for several rounds; the median rate per worker and round is printed. The
reference worker is ``reference_bulk_worker.py`` (the same method in Python),
so both sides use one client, one segment size and one host state.

    shm_bulk_vs_reference.py OUR_WORKER [--rounds N] [--reps R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Protocol

from vgi_rpc.pool import WorkerPool
from vgi_rpc.rpc import ProducerState, Stream

ROWS, COUNT = 1_000_000, 8
SHM_SIZE = 64 * 1024 * 1024


class BenchmarkService(Protocol):
    """The method both workers serve."""

    def generate_bulk(self, rows_per_batch: int, batch_count: int) -> Stream[ProducerState]: ...


def rate(cmd: list[str], reps: int) -> float:
    """Median MB/s over ``reps`` pulls (after one warm-up) from a pooled worker."""
    mb = ROWS * 8 * COUNT / 1e6
    with WorkerPool(shm_size=SHM_SIZE) as pool, pool.connect(BenchmarkService, cmd) as svc:
        rates = []
        for _ in range(reps + 1):
            t0 = time.perf_counter()
            for ab in svc.generate_bulk(rows_per_batch=ROWS, batch_count=COUNT):
                assert ab.batch.num_rows == ROWS
                ab.release()
            rates.append(mb / (time.perf_counter() - t0))
        return statistics.median(rates[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("worker")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    reference = [sys.executable, str(Path(__file__).resolve().parent / "reference_bulk_worker.py")]
    for n in range(args.rounds):
        ours = rate([args.worker], args.reps)
        theirs = rate(reference, args.reps)
        print(f"round {n}: ours {ours:,.0f} MB/s, reference worker {theirs:,.0f} MB/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
