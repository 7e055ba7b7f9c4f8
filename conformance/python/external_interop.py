"""The reference Python client against our worker with external storage.

Run by ``conformance/scripts/external-interop.sh`` inside the reference root,
with our worker started with ``--fake-storage URL --externalize-threshold N``
(over HTTP at ``--url``, or spawned over a pipe from ``--cmd``). Results,
stream batches and exchange outputs above the threshold come back as
pointers that the reference client fetches from the fake storage, verifies
and decodes; every value is checked against what the method computes, and
the fake storage's counters (or the resolved batch's provenance key) must
show that a pointer was resolved. Over HTTP a large input also goes out
through our ``__upload_url__/init`` (the reference client's 413 fallback).

Prints one ``ok``/``FAIL`` line per check; exits 1 when any failed.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from vgi_rpc.conformance import ConformanceService
from vgi_rpc.external import ClientExternalConfig
from vgi_rpc.http import http_connect
from vgi_rpc.rpc import AnnotatedBatch, connect

SOURCE_KEY = b"vgi_rpc.location.source"
ROWS, BATCHES = 20_000, 3
INPUT_BYTES = 300 * 1024


def loopback_only(url: str) -> None:
    """Admit plain-http loopback URLs (the fake storage's) and nothing else."""
    from urllib.parse import urlparse

    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError(f"refusing non-loopback URL {url!r}")


def stats(storage: str) -> dict[str, int]:
    """The fake storage's counters."""
    with urllib.request.urlopen(f"{storage}/_stats", timeout=10) as resp:
        return {str(k): int(v) for k, v in json.load(resp).items()}


def pattern(n: int) -> bytes:
    """Deterministic bytes (a misplaced range would show)."""
    return bytes(i % 253 for i in range(n))


def resolved(ab: AnnotatedBatch, what: str) -> None:
    """The batch came through a pointer: the reader stamped its source."""
    md = ab.custom_metadata
    if md is None or not md.get(SOURCE_KEY):
        raise AssertionError(f"{what} carries no vgi_rpc.location.source (no pointer was resolved)")


def check_unary(proxy: Any, storage: str) -> None:
    """A large echo_bytes result arrives by pointer, exact."""
    before = stats(storage)
    data = pattern(INPUT_BYTES)
    got = proxy.echo_bytes(data=data)
    if got != data:
        raise AssertionError(f"echo_bytes returned {len(got)} different bytes")
    after = stats(storage)
    if after.get("object_count", 0) <= before.get("object_count", 0):
        raise AssertionError(f"nothing was uploaded to the fake storage: {before} -> {after}")


def check_producer(proxy: Any, _storage: str) -> None:
    """Every produced batch arrives by pointer, rows exact."""
    batches = list(proxy.produce_large_batches(rows_per_batch=ROWS, batch_count=BATCHES))
    if len(batches) != BATCHES:
        raise AssertionError(f"expected {BATCHES} batches, got {len(batches)}")
    for n, ab in enumerate(batches):
        offset = n * ROWS
        index = ab.batch.column("index").to_pylist()
        value = ab.batch.column("value").to_pylist()
        if index != list(range(offset, offset + ROWS)) or value != [10 * i for i in index]:
            raise AssertionError(f"batch {n} does not hold rows {offset}..{offset + ROWS}")
        resolved(ab, f"batch {n}")


def check_exchange(proxy: Any, _storage: str) -> None:
    """A large exchange output arrives by pointer, values exact."""
    values = [i * 0.5 for i in range(50_000)]
    with proxy.exchange_scale(factor=2.5) as session:
        out = session.exchange(AnnotatedBatch.from_pydict({"value": values}))
    if out.batch.column("value").to_pylist() != [v * 2.5 for v in values]:
        raise AssertionError("exchange_scale output is not the input times 2.5")
    resolved(out, "the exchange output")


CHECKS: list[tuple[str, Callable[[Any, str], None]]] = [
    ("unary result by pointer", check_unary),
    ("producer batches by pointer", check_producer),
    ("exchange output by pointer", check_exchange),
]


@contextmanager
def connection(args: argparse.Namespace) -> Iterator[Any]:
    """The reference client's proxy for our worker, resolving pointers."""
    external = ClientExternalConfig(url_validator=loopback_only)
    if args.url:
        with http_connect(ConformanceService, args.url, external_location=external) as proxy:
            yield proxy
    else:
        with connect(ConformanceService, shlex.split(args.cmd), external_location=external) as proxy:
            yield proxy


def main() -> int:
    """Run every check; 0 when all passed."""
    parser = argparse.ArgumentParser(description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="our HTTP worker's base URL")
    where.add_argument("--cmd", help="command line of our pipe worker")
    parser.add_argument("--storage", required=True, help="the fake storage's base URL")
    args = parser.parse_args()
    transport = "http" if args.url else "pipe"
    failed = 0
    with connection(args) as proxy:
        for name, check in CHECKS:
            try:
                check(proxy, args.storage)
                print(f"ok   reference client, {transport}: {name}")
            except Exception as exc:  # noqa: BLE001 - every failure is reported, then counted
                failed += 1
                print(f"FAIL reference client, {transport}: {name}: {type(exc).__name__}: {exc}")
    print(f"{len(CHECKS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
