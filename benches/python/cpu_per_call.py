"""Worker CPU per call, with the reference Python client driving a worker.

Run inside the reference root (benches/python/run-cpu-per-call.sh). For each
call shape the client makes N calls and reads the worker's own CPU time from
``/proc/<pid>/task/*/schedstat`` (nanoseconds on CPU, every thread) before
and after; the median of several repetitions is reported per call, with the
client's wall time per call beside it. The worker is reached over a pipe
(``vgi_rpc.rpc.connect``), for bulk output also through a shared-memory
segment (``WorkerPool(shm_size=...)``), over a Unix socket
(``--unix PATH``, ``vgi_rpc.rpc.unix_connect``), and over one HTTP keep-alive
connection (``--http 0``, ``vgi_rpc.http.http_connect``).

The floor is the same client process doing the least a worker could: a
``cat`` process echoing a message of the request's size through a pipe, one
``read`` and one ``write`` per round trip. Our worker's CPU is reported as a
multiple of that floor. HTTP has a floor of its own: ``vgi-rpc-http-floor``
(beside WORKER) is hyper on the worker's runtime echoing a noop request's
body, once as is and once doing the zstd work this client asks of every call
(decode the request, encode the answer); HTTP rows are reported as a multiple
of the zstd one.

    cpu_per_call.py WORKER [--calls N] [--reps R] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pyarrow as pa
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))
from drive_bench_worker import BenchmarkService  # noqa: E402  (the same Protocol declaration)

from vgi_rpc.http import http_connect  # noqa: E402
from vgi_rpc.pool import WorkerPool  # noqa: E402
from vgi_rpc.rpc import AnnotatedBatch, connect, unix_connect  # noqa: E402

#: The segment a pooled worker writes bulk output into (8 MB batches, released as read).
SHM_SIZE = 64 * 1024 * 1024


def cpu_ns(pid: int) -> dict[str, int]:
    """Nanoseconds on CPU so far of every live thread of ``pid``, by thread id."""
    by_thread = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                by_thread[task] = int(f.read().split()[0])
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return by_thread


def cpu_between(before: dict[str, int], after: dict[str, int]) -> int:
    """CPU nanoseconds spent between two :func:`cpu_ns` samples.

    Summed per thread, so a thread that exits in between (an HTTP worker's
    idle blocking-pool thread) drops out instead of making the total
    negative; what it ran in between before exiting is not counted.
    """
    return sum(ns - before.get(tid, 0) for tid, ns in after.items())


def child_pid(name: str) -> int:
    """The pid of this process's child whose command is ``name``."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == me and os.path.basename(os.readlink(f"/proc/{entry}/exe")) == name:
                return int(entry)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    raise RuntimeError(f"no child process {name!r}")


def measure(pid: int, ops: int, reps: int, run: Callable[[], None]) -> dict[str, float]:
    """Median worker CPU µs and client wall µs per op over ``reps`` runs of ``run`` (``ops`` ops each)."""
    run()  # warm-up: caches, the worker's adaptive spin, allocator
    cpu, wall = [], []
    for _ in range(reps):
        c0, t0 = cpu_ns(pid), time.perf_counter_ns()
        run()
        t1, c1 = time.perf_counter_ns(), cpu_ns(pid)
        cpu.append(cpu_between(c0, c1) / ops / 1e3)
        wall.append((t1 - t0) / ops / 1e3)
    return {"worker_cpu_us": statistics.median(cpu), "wall_us": statistics.median(wall)}


def repeated(fn: Callable[[], object], count: int) -> Callable[[], None]:
    """A run that calls ``fn`` ``count`` times."""

    def run() -> None:
        for _ in range(count):
            fn()

    return run


@contextlib.contextmanager
def listening_worker(cmd: list[str], prefix: str) -> Iterator[tuple[int, str]]:
    """Start a worker that announces its address (``PORT:``, ``UNIX:``); yield its pid and address."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        assert line.startswith(prefix), f"worker said {line!r}"
        yield proc.pid, line[len(prefix) :]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def unary_and_stream(label: str, pid: int, svc: BenchmarkService, n: int, reps: int) -> dict[str, dict[str, float]]:
    """noop, add and a producer's per-batch cost over one connection to ``pid``."""

    def generate() -> None:
        for _ in svc.generate(count=n):
            pass

    return {
        f"{label} noop": measure(pid, n, reps, repeated(svc.noop, n)),
        f"{label} add": measure(pid, n, reps, repeated(lambda: svc.add(a=1.5, b=2.25), n)),
        f"{label} generate, per batch": measure(pid, n, reps, generate),
    }


def floor(size: int, ops: int, reps: int) -> dict[str, float]:
    """``cat`` echoing ``size`` bytes per round trip: the read-one/write-one minimum."""
    proc = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert proc.stdin is not None and proc.stdout is not None
    w, r = proc.stdin.fileno(), proc.stdout.fileno()
    message = b"x" * size

    def run() -> None:
        for _ in range(ops):
            os.write(w, message)
            got = 0
            while got < size:
                got += len(os.read(r, size - got))

    try:
        return measure(proc.pid, ops, reps, run)
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def noop_request() -> bytes:
    """The IPC stream of a noop request, as this client sends it (uncompressed)."""
    sink = pa.BufferOutputStream()
    meta = {b"vgi_rpc.method": b"noop", b"vgi_rpc.request_version": b"1"}
    with pa.ipc.new_stream(sink, pa.schema([])) as writer:
        writer.write_batch(pa.RecordBatch.from_pydict({}, schema=pa.schema([])), custom_metadata=meta)
    return sink.getvalue().to_pybytes()


def http_floor(server: str, codec: bool, ops: int, reps: int) -> dict[str, float]:
    """``vgi-rpc-http-floor`` echoing a noop request over one keep-alive connection."""
    args = [server, "--zstd"] if codec else [server]
    body = noop_request()
    headers = {"Content-Type": "application/vnd.apache.arrow.stream"}
    if codec:
        body = zstandard.ZstdCompressor(level=1).compress(body)
        headers |= {"Content-Encoding": "zstd", "Accept-Encoding": "zstd"}
    with listening_worker(args, "PORT:") as (pid, port), httpx2.Client() as client:
        url = f"http://127.0.0.1:{port}/noop"

        def call() -> None:
            client.post(url, content=body, headers=headers).read()

        return measure(pid, ops, reps, repeated(call, ops))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("worker")
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n, reps = args.calls, args.reps
    results: dict[str, dict[str, float]] = {}
    with connect(BenchmarkService, [args.worker]) as svc:
        pid = child_pid(os.path.basename(args.worker))

        results["noop"] = measure(pid, n, reps, repeated(svc.noop, n))
        results["add"] = measure(pid, n, reps, repeated(lambda: svc.add(a=1.5, b=2.25), n))
        results["greet"] = measure(pid, n, reps, repeated(lambda: svc.greet(name="World"), n))

        def generate() -> None:
            for _ in svc.generate(count=n):
                pass

        results["generate, per batch"] = measure(pid, n, reps, generate)
        batch = AnnotatedBatch(batch=pa.record_batch({"value": pa.array([1.0, 2.5])}))

        def transform() -> None:
            with svc.transform(factor=2.0) as session:
                for _ in range(n):
                    session.exchange(batch)

        results["transform, per round trip"] = measure(pid, n, reps, transform)
        rows, count = 1_000_000, 8

        def bulk() -> None:
            for _ in svc.generate_bulk(rows_per_batch=rows, batch_count=count):
                pass

        mb = rows * 8 * count / 1e6
        b = measure(pid, 1, max(3, reps // 2), bulk)
        results["bulk, 1M-row int64 batches"] = {
            "worker_cpu_ms_per_mb": b["worker_cpu_us"] / 1e3 / mb,
            "mb_per_s": mb / (b["wall_us"] / 1e6),
        }
    with WorkerPool(shm_size=SHM_SIZE) as pool, pool.connect(BenchmarkService, [args.worker]) as svc:
        pid = child_pid(os.path.basename(args.worker))

        def bulk_shm() -> None:
            for ab in svc.generate_bulk(rows_per_batch=rows, batch_count=count):
                assert ab.batch.num_rows == rows
                ab.release()  # hand the allocation back to the segment

        b = measure(pid, 1, max(3, reps // 2), bulk_shm)
        results["bulk over shared memory"] = {
            "worker_cpu_ms_per_mb": b["worker_cpu_us"] / 1e3 / mb,
            "mb_per_s": mb / (b["wall_us"] / 1e6),
        }
    sock_path = f"/tmp/vgi-cpu-per-call-{os.getpid()}.sock"
    with listening_worker([args.worker, "--unix", sock_path], "UNIX:") as (pid, address):
        with unix_connect(BenchmarkService, address) as svc:
            results.update(unary_and_stream("Unix", pid, svc, n, reps))
    with listening_worker([args.worker, "--http", "0"], "PORT:") as (pid, port):
        with http_connect(BenchmarkService, f"http://127.0.0.1:{port}") as svc:
            results.update(unary_and_stream("HTTP", pid, svc, max(1, n // 4), reps))
    floor_server = str(Path(args.worker).with_name("vgi-rpc-http-floor"))
    results["HTTP floor: hyper echo"] = http_floor(floor_server, False, max(1, n // 4), reps)
    results["HTTP floor: hyper echo + zstd"] = http_floor(floor_server, True, max(1, n // 4), reps)
    # ~ the size of a noop request and of its answer on the wire.
    results["floor: cat echo, 512 B"] = floor(512, n, reps)
    floor_cpu = results["floor: cat echo, 512 B"]["worker_cpu_us"]
    http_floor_cpu = results["HTTP floor: hyper echo + zstd"]["worker_cpu_us"]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'shape':32} {'worker CPU':>12} {'× floor':>8} {'client wall':>12}")
    for name, r in results.items():
        if "worker_cpu_us" in r:
            base = http_floor_cpu if name.startswith("HTTP") else floor_cpu
            print(f"{name:32} {r['worker_cpu_us']:9.2f} µs {r['worker_cpu_us'] / base:8.1f} {r['wall_us']:9.1f} µs")
        else:
            print(f"{name:32} {r['worker_cpu_ms_per_mb']:6.3f} ms/MB {'':8} {r['mb_per_s']:8.0f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
