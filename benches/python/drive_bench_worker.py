"""Drive the Rust benchmark worker with the reference Python client.

Run inside the reference root (see benches/python/run-reference-client.sh).
Declares BenchmarkService the way a Python port would, calls every method
on our worker over a pipe and over HTTP, and checks that the worker's
protocol_hash equals the hash the reference computes for the same Python
signatures.
"""

from __future__ import annotations

import subprocess
import sys
from enum import Enum
from typing import Protocol

import pyarrow as pa

from vgi_rpc.http import http_connect
from vgi_rpc.rpc import AnnotatedBatch, ExchangeState, ProducerState, Stream, connect, rpc_methods
from vgi_rpc.rpc._protocol_hash import compute_protocol_hash
from vgi_rpc.rpc._reflection import Reflection


class Color(Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class BenchmarkService(Protocol):
    def noop(self) -> None: ...
    def add(self, a: float, b: float) -> float: ...
    def greet(self, name: str) -> str: ...
    def roundtrip_types(self, color: Color, mapping: dict[str, int], tags: frozenset[int]) -> str: ...
    def generate(self, count: int) -> Stream[ProducerState]: ...
    def transform(self, factor: float) -> Stream[ExchangeState]: ...
    def generate_bulk(self, rows_per_batch: int, batch_count: int) -> Stream[ProducerState]: ...


def exercise(svc: BenchmarkService) -> None:
    """Call every method once and check each answer."""
    assert svc.noop() is None
    assert svc.add(a=1.5, b=2.25) == 3.75
    assert svc.greet(name="World") == "Hello, World!"
    got = svc.roundtrip_types(color=Color.GREEN, mapping={"b": 2, "a": 1}, tags=frozenset({3, 1, 2}))
    assert got == "GREEN:True:{'a': 1, 'b': 2}:[1, 2, 3]", got
    batches = list(svc.generate(count=3))
    assert [b.batch.to_pydict() for b in batches] == [{"i": [i], "value": [i * 10]} for i in range(3)]
    with svc.transform(factor=2.0) as session:
        out = session.exchange(AnnotatedBatch(batch=pa.record_batch({"value": pa.array([1.0, 2.5])})))
        assert out.batch.column("value").to_pylist() == [2.0, 5.0]
    bulk = list(svc.generate_bulk(rows_per_batch=1000, batch_count=4))
    assert len(bulk) == 4 and all(b.batch.column("value").to_pylist() == list(range(1000)) for b in bulk)


def main(worker: str) -> int:
    cmd = [worker, "--describe"]
    with connect(BenchmarkService, cmd) as svc:
        exercise(svc)
    proc = subprocess.Popen([worker, "--describe", "--http", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        assert line.startswith("PORT:"), f"worker said {line!r}"
        with http_connect(BenchmarkService, f"http://127.0.0.1:{line[5:]}") as svc:
            exercise(svc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    expected = compute_protocol_hash("BenchmarkService", rpc_methods(BenchmarkService))
    with connect(Reflection, cmd) as reflection:
        listed = {p.protocol: p.protocol_hash for p in reflection.list_protocols().protocols}
    assert listed.get("BenchmarkService") == expected, f"hash {listed.get('BenchmarkService')} != reference {expected}"
    print("reference client: every BenchmarkService method answered over pipe and HTTP; protocol_hash matches")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
