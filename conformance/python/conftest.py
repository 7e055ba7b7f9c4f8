"""Port harness for the reference pytest suite.

Supplies the fixtures ``vgi_rpc.conformance._pytest_suite`` asks for, backed
by the Rust worker ``vgi-rpc-conformance``. It only supplies fixtures: no
upstream test is subclassed, overridden, deselected or patched. Transports
this port does not have yet are supplied as fixtures that skip, naming the
missing capability, so they show up in the tally as skips rather than errors.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vgi_rpc.conformance import ConformanceService
from vgi_rpc.introspect import ServiceDescription, introspect
from vgi_rpc.rpc import SubprocessTransport, TcpTransport, UnixTransport, _RpcProxy, connect, tcp_connect, unix_connect

REPO = Path(__file__).resolve().parents[2]
WORKER = os.environ.get("VGI_RPC_WORKER", str(REPO / "target" / "release" / "vgi-rpc-conformance"))
# Every worker hosts reflection, as the reference's conformance entry points do.
WORKER_ARGS = ["--describe"]

# The byte-stream transports this port serves. HTTP joins with its issue.
CONN_TRANSPORTS = ["pipe", "subprocess", "unix", "unix_threaded", "tcp"]
RAW_TRANSPORTS = ["pipe", "subprocess", "unix", "unix_threaded", "tcp"]

ConnFactory = Callable[..., contextlib.AbstractContextManager[Any]]


def _worker(*args: str) -> list[str]:
    return [WORKER, *WORKER_ARGS, *args]


@contextlib.contextmanager
def _listening_worker(args: list[str], prefix: str, timeout: float = 30.0) -> Iterator[str]:
    """Start a socket worker and yield the address from its discovery line."""
    stderr = tempfile.TemporaryFile()
    proc = subprocess.Popen(_worker(*args), stdout=subprocess.PIPE, stderr=stderr)
    lines: queue.Queue[bytes] = queue.Queue(maxsize=1)
    threading.Thread(target=lambda: lines.put(proc.stdout.readline() if proc.stdout else b""), daemon=True).start()
    try:
        try:
            line = lines.get(timeout=timeout).decode().strip()
        except queue.Empty as exc:
            raise RuntimeError(f"worker printed no {prefix} line within {timeout}s") from exc
        if not line.startswith(prefix):
            stderr.seek(0)
            raise RuntimeError(f"worker said {line!r}; stderr: {stderr.read().decode(errors='replace')}")
        yield line[len(prefix) :]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        stderr.close()


def _socket_path(name: str) -> str:
    return os.path.join(tempfile.mkdtemp(prefix="vgi-"), f"{name}.sock")


@pytest.fixture(scope="session")
def conformance_subprocess() -> Iterator[SubprocessTransport]:
    """One worker process shared by the whole session."""
    transport = SubprocessTransport(_worker())
    yield transport
    transport.close()


@pytest.fixture(scope="session")
def conformance_unix_path() -> Iterator[str]:
    with _listening_worker(["--unix", _socket_path("unix")], "UNIX:") as path:
        yield path


@pytest.fixture(scope="session")
def conformance_unix_threaded_path() -> Iterator[str]:
    with _listening_worker(["--unix", _socket_path("unix-threaded"), "--threaded"], "UNIX:") as path:
        yield path


@pytest.fixture(scope="session")
def conformance_tcp_addr() -> Iterator[tuple[str, int]]:
    with _listening_worker(["--tcp", "127.0.0.1:0", "--threaded"], "TCP:") as addr:
        host, _, port = addr.rpartition(":")
        yield host, int(port)


def _connect(request: pytest.FixtureRequest, transport: str, protocol: type, on_log: Any) -> Any:
    """A context manager yielding a proxy for *protocol* on *transport*'s worker."""
    if transport == "pipe":
        # A fresh worker per connection.
        return connect(protocol, _worker(), on_log=on_log)
    if transport == "subprocess":
        shared = request.getfixturevalue("conformance_subprocess")

        @contextlib.contextmanager
        def _shared() -> Iterator[Any]:
            yield _RpcProxy(protocol, shared, on_log)

        return _shared()
    if transport == "unix":
        return unix_connect(protocol, request.getfixturevalue("conformance_unix_path"), on_log=on_log)
    if transport == "unix_threaded":
        return unix_connect(protocol, request.getfixturevalue("conformance_unix_threaded_path"), on_log=on_log)
    if transport == "tcp":
        host, port = request.getfixturevalue("conformance_tcp_addr")
        return tcp_connect(protocol, host, port, on_log=on_log)
    pytest.skip(f"transport {transport!r} is not implemented by the Rust worker yet")


@pytest.fixture(params=CONN_TRANSPORTS)
def conformance_conn(request: pytest.FixtureRequest) -> ConnFactory:
    """Factory of ConformanceService connections, one per transport."""

    def factory(on_log: Any = None) -> contextlib.AbstractContextManager[Any]:
        return _connect(request, request.param, ConformanceService, on_log)

    return factory


@pytest.fixture(params=RAW_TRANSPORTS)
def conformance_raw_conn(request: pytest.FixtureRequest) -> ConnFactory:
    """Persistent byte-stream connections for raw-wire tests."""

    def factory(on_log: Any = None) -> contextlib.AbstractContextManager[Any]:
        return _connect(request, request.param, ConformanceService, on_log)

    return factory


@pytest.fixture(scope="session")
def conformance_protocol_connector(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``connector(transport, protocol, on_log=None)``: a proxy for any protocol on that transport's worker."""

    def connector(transport: str, protocol: type, on_log: Any = None) -> Any:
        return _connect(request, transport, protocol, on_log)

    return connector


@pytest.fixture(params=CONN_TRANSPORTS)
def conformance_describe(request: pytest.FixtureRequest) -> ServiceDescription:
    """The worker's description, fetched over each transport."""
    import socket

    param = request.param
    if param == "pipe":
        transport = SubprocessTransport(_worker())
        try:
            return introspect(transport)
        finally:
            transport.close()
    if param == "subprocess":
        return introspect(request.getfixturevalue("conformance_subprocess"))
    if param in ("unix", "unix_threaded"):
        path = request.getfixturevalue("conformance_unix_path" if param == "unix" else "conformance_unix_threaded_path")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        unix = UnixTransport(sock)
        try:
            return introspect(unix)
        finally:
            unix.close()
    host, port = request.getfixturevalue("conformance_tcp_addr")
    tcp = TcpTransport(socket.create_connection((host, port)))
    try:
        return introspect(tcp)
    finally:
        tcp.close()


def _no_http(capability: str) -> None:
    pytest.skip(f"{capability}: the Rust worker has no HTTP transport yet")


@pytest.fixture(scope="session")
def conformance_http_port() -> int:
    _no_http("HTTP transport")
    raise AssertionError("unreachable")


@pytest.fixture(scope="class")
def conformance_http_auth_port() -> int:
    _no_http("HTTP authentication (reject-all auth worker)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="class")
def conformance_http_with_storage_port() -> int:
    _no_http("HTTP worker with external storage")
    raise AssertionError("unreachable")


@pytest.fixture(scope="class")
def conformance_http_strict_cap_port() -> int:
    _no_http("HTTP strict response caps")
    raise AssertionError("unreachable")


@pytest.fixture(scope="class")
def conformance_http_externalized_cap_port() -> int:
    _no_http("HTTP externalized-response cap")
    raise AssertionError("unreachable")


@pytest.fixture(scope="class")
def conformance_http_with_zstd_storage_port() -> int:
    _no_http("HTTP worker with zstd external storage")
    raise AssertionError("unreachable")


@pytest.fixture(scope="class")
def conformance_http_external_security_port() -> int:
    _no_http("HTTP worker with external-fetch security settings")
    raise AssertionError("unreachable")
