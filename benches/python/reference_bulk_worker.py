"""A reference-Python worker with BenchmarkService's ``generate_bulk`` only.

The baseline for shared-memory bulk output: the same method as our bench
worker (int64 column ``value`` = 0..rows, one batch emitted ``batch_count``
times), served by the reference implementation. The batch is built once per
row count and kept, since building 1M values in Python would otherwise
dominate what is meant to measure the transport. Run inside the reference
root by ``shm_bulk_vs_reference.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from vgi_rpc.rpc import CallContext, OutputCollector, ProducerState, Stream, run_server

SCHEMA = pa.schema([pa.field("value", pa.int64())])

#: Batches already built, by row count.
_BATCHES: dict[int, pa.RecordBatch] = {}


def bulk_batch(rows: int) -> pa.RecordBatch:
    """The batch of ``rows`` values, built on first use."""
    batch = _BATCHES.get(rows)
    if batch is None:
        batch = _BATCHES[rows] = pa.record_batch([pa.array(range(rows), pa.int64())], schema=SCHEMA)
    return batch


@dataclass
class Bulk(ProducerState):
    """Emit one prebuilt batch ``count`` times."""

    rows: int
    count: int
    sent: int = 0

    def produce(self, out: OutputCollector, ctx: CallContext) -> None:
        """Emit the next copy of the batch, or finish."""
        if self.sent >= self.count:
            out.finish()
            return
        out.emit(bulk_batch(self.rows))
        self.sent += 1


class BenchmarkService(Protocol):
    """The one method this worker serves."""

    def generate_bulk(self, rows_per_batch: int, batch_count: int) -> Stream[Bulk]: ...


class Implementation:
    """``generate_bulk`` as the Rust bench worker defines it."""

    def generate_bulk(self, rows_per_batch: int, batch_count: int) -> Stream[Bulk]:
        """Stream ``batch_count`` batches of ``rows_per_batch`` int64 rows."""
        return Stream(output_schema=SCHEMA, state=Bulk(rows_per_batch, batch_count))


if __name__ == "__main__":
    run_server(BenchmarkService, Implementation())
