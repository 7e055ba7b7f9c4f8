"""The reference Python client, with a shared-memory segment, against OUR worker.

Run inside the reference root (conformance/scripts/shm-cross-language.sh):

    python shm_interop.py WORKER

1. ``__transport_options__``: the worker answers ``vgi_rpc.transport.shm = "true"``.
2. ``WorkerPool(shm_size=...)``: unary, producer and exchange methods with
   payloads above the 128 KiB shm threshold return exactly what the same
   calls return over the plain pipe, and the stream batches really came out
   of the segment (``vgi_rpc.shm_source`` names it).
3. A raw request whose (single-row) request batch itself is a pointer into
   the segment (what the C++ client sends) is resolved by the worker, and its
   large answer comes back as a pointer the reference resolves.
"""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
from pyarrow import ipc

from vgi_rpc.conformance import ConformanceService
from vgi_rpc.metadata import (
    PROTOCOL_KEY,
    PROTOCOL_VERSION_KEY,
    REQUEST_VERSION,
    REQUEST_VERSION_KEY,
    RPC_METHOD_KEY,
    SHM_SEGMENT_NAME_KEY,
    SHM_SEGMENT_SIZE_KEY,
    SHM_SOURCE_KEY,
    TRANSPORT_SHM_KEY,
)
from vgi_rpc.pool import WorkerPool
from vgi_rpc.rpc import AnnotatedBatch, connect
from vgi_rpc.shm import ShmSegment, is_shm_pointer_batch, make_shm_pointer_batch, resolve_shm_batch

SHM_SIZE = 64 * 1024 * 1024
BIG = 300_000  # rows / bytes: well above the 128 KiB threshold


def calls(svc: ConformanceService, shm_name: str | None) -> dict[str, object]:
    """Run every call once; when *shm_name* is set, check batches came from it."""
    out: dict[str, object] = {}
    payload = bytes(range(256)) * (BIG // 256)
    out["echo_bytes"] = svc.echo_bytes(data=payload)
    assert out["echo_bytes"] == payload
    out["echo_string"] = svc.echo_string(value="small stays inline")
    out["oversized_unary"] = len(svc.oversized_unary(target_bytes=BIG))

    def collect(stream, tag: str) -> list[dict]:
        got = []
        from_shm = 0
        for ab in stream:
            got.append(ab.batch.to_pydict())
            if ab.custom_metadata is not None and ab.custom_metadata.get(SHM_SOURCE_KEY) is not None:
                assert ab.custom_metadata[SHM_SOURCE_KEY].decode() == shm_name, ab.custom_metadata
                from_shm += 1
            ab.release()
        if shm_name is not None:
            assert from_shm > 0, f"{tag}: no batch came through shared memory"
        return got

    out["produce_large_batches"] = collect(svc.produce_large_batches(rows_per_batch=BIG // 10, batch_count=3), "produce")
    out["produce_with_logs"] = [b.batch.to_pydict() for b in svc.produce_with_logs(count=3)]
    with svc.produce_with_header(count=2) as session:
        out["produce_with_header"] = (session.header, [b.batch.to_pydict() for b in session])
    values = [float(i) / 4 for i in range(BIG // 8)]
    scaled = []
    with svc.exchange_scale(factor=3.0) as session:
        for _ in range(3):
            res = session.exchange(AnnotatedBatch(batch=pa.record_batch({"value": pa.array(values)})))
            if shm_name is not None:
                assert res.custom_metadata is not None and res.custom_metadata.get(SHM_SOURCE_KEY), "exchange output inline"
            scaled.append(res.batch.column("value").to_pylist())
            res.release()
    assert scaled[0] == [v * 3.0 for v in values]
    out["exchange_scale"] = scaled
    with svc.exchange_accumulate() as session:
        acc = session.exchange(AnnotatedBatch(batch=pa.record_batch({"value": pa.array(values)})))
        out["exchange_accumulate"] = acc.batch.to_pydict()
    return out


def transport_options(worker: str) -> None:
    proc = subprocess.Popen([worker], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    md = {RPC_METHOD_KEY: b"__transport_options__", REQUEST_VERSION_KEY: REQUEST_VERSION, TRANSPORT_SHM_KEY: b"true"}
    with ipc.new_stream(proc.stdin, pa.schema([])) as w:
        w.write_batch(pa.RecordBatch.from_pydict({}, schema=pa.schema([])), custom_metadata=md)
    proc.stdin.flush()
    reader = ipc.open_stream(proc.stdout)
    batch, cm = reader.read_next_batch_with_custom_metadata()
    proc.stdin.close()
    proc.wait(timeout=10)
    assert cm is not None and cm.get(TRANSPORT_SHM_KEY) == b"true", cm
    print("transport_options: worker answers vgi_rpc.transport.shm = true")


def pointer_request(worker: str) -> None:
    """A request batch stored in the segment, sent as a pointer (the C++ client's way)."""
    seg = ShmSegment.create(SHM_SIZE)
    proc = subprocess.Popen([worker], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        value = "x" * BIG
        schema = pa.schema([pa.field("value", pa.utf8(), nullable=False)])
        request = pa.record_batch({"value": pa.array([value])}, schema=schema)
        placed = seg.allocate_and_write(request)
        assert placed is not None
        pointer, pcm = make_shm_pointer_batch(schema, *placed)
        md = dict(pcm)
        md.update({
            RPC_METHOD_KEY: b"echo_string",
            REQUEST_VERSION_KEY: REQUEST_VERSION,
            PROTOCOL_KEY: b"ConformanceService",
            PROTOCOL_VERSION_KEY: vars(ConformanceService)["protocol_version"].encode(),
            SHM_SEGMENT_NAME_KEY: seg.name.encode(),
            SHM_SEGMENT_SIZE_KEY: str(seg.size).encode(),
        })
        with ipc.new_stream(proc.stdin, schema) as w:
            w.write_batch(pointer, custom_metadata=pa.KeyValueMetadata(md))
        proc.stdin.flush()
        reader = ipc.open_stream(proc.stdout)
        batch, cm = reader.read_next_batch_with_custom_metadata()
        assert is_shm_pointer_batch(batch, cm), f"answer was not a pointer: rows={batch.num_rows} md={cm}"
        resolved, rcm, release = resolve_shm_batch(batch, cm, seg)
        assert resolved.column(0).to_pylist() == [value]
        assert release is not None
        release()
        assert seg.allocator.num_allocs == 0, "the worker did not free the request's region"
        proc.stdin.close()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        seg.close()
        seg.unlink()
    print("pointer request: worker resolved a request batch from the segment and answered by pointer")


def main(worker: str) -> int:
    transport_options(worker)
    with connect(ConformanceService, [worker]) as svc:
        plain = calls(svc, None)
    with WorkerPool(shm_size=SHM_SIZE) as pool:
        with pool.connect(ConformanceService, [worker]) as svc:
            segment = svc._shm  # the borrow's own segment (pool.py)
            assert segment is not None, "the pool gave no segment"
            over_shm = calls(svc, segment.name)
    assert over_shm == plain, "results over shared memory differ from the plain pipe"
    print(f"pool(shm_size={SHM_SIZE}): {len(over_shm)} calls give the same results as the plain pipe")
    pointer_request(worker)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
