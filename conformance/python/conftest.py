"""Port harness for the reference pytest suite.

Supplies the fixtures ``vgi_rpc.conformance._pytest_suite`` asks for, backed
by the Rust worker ``vgi-rpc-conformance``. It only supplies fixtures: no
upstream test is subclassed, overridden, deselected, xfailed or patched.

The transport axis is the reference harness's own matrix (``TRANSPORTS``).
A transport the Rust worker cannot serve yet stays in the matrix with the
capability it lacks, so its tests are collected and reported as skips instead
of silently vanishing from the tally. Adding a transport is one row in the
table plus, for a new kind of worker, one session fixture that boots it.

Optional fixtures the suite looks up by name (and skips without) are simply
not defined until the worker can back them; fixtures the suite requests as
plain arguments (``conformance_http_port`` and friends) are defined here and
skip, naming the missing capability.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest

from vgi_rpc.conformance import ConformanceService
from vgi_rpc.http import http_connect, http_introspect
from vgi_rpc.conformance._resource_soak_pytest import ResourceSoakLimits, ResourceSoakTarget, TestResourceSoak
from vgi_rpc.introspect import ServiceDescription, introspect
from vgi_rpc.rpc import SubprocessTransport, TcpTransport, UnixTransport, _RpcProxy, connect, tcp_connect, unix_connect

REPO = Path(__file__).resolve().parents[2]
WORKER = os.environ.get("VGI_RPC_WORKER", str(REPO / "target" / "release" / "vgi-rpc-conformance"))
# Every worker hosts reflection, as the reference's conformance entry points do
# (tests/serve_conformance_*.py pass --describe).
WORKER_ARGS = ["--describe"]
STARTUP_TIMEOUT = 30.0

ConnFactory = Callable[..., contextlib.AbstractContextManager[Any]]


# ---------------------------------------------------------------------------
# Booting workers
# ---------------------------------------------------------------------------


def _worker(*args: str) -> list[str]:
    return [WORKER, *WORKER_ARGS, *args]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def _listening_worker(args: list[str], prefix: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start a socket worker; yield it and the address from its discovery line (``UNIX:…`` / ``TCP:…``)."""
    stderr = tempfile.TemporaryFile()
    proc = subprocess.Popen(_worker(*args), stdout=subprocess.PIPE, stderr=stderr)
    lines: queue.Queue[bytes] = queue.Queue(maxsize=1)
    threading.Thread(target=lambda: lines.put(proc.stdout.readline() if proc.stdout else b""), daemon=True).start()
    try:
        try:
            line = lines.get(timeout=STARTUP_TIMEOUT).decode(errors="replace").strip()
        except queue.Empty as exc:
            raise RuntimeError(f"{args}: worker printed no {prefix} line within {STARTUP_TIMEOUT}s") from exc
        if not line.startswith(prefix):
            proc.wait(timeout=5)
            stderr.seek(0)
            raise RuntimeError(f"{args}: worker said {line!r}; stderr: {stderr.read().decode(errors='replace')}")
        yield proc, line[len(prefix) :]
    finally:
        _stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()
        stderr.close()


@contextlib.contextmanager
def _unix_worker(name: str, *extra: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    # Short path: sun_path is limited to ~107 bytes. Scratch lives in the
    # root's own /tmp; the work tree is read-only.
    directory = tempfile.mkdtemp(prefix="vgi-")
    try:
        with _listening_worker(["--unix", os.path.join(directory, f"{name}.sock"), *extra], "UNIX:") as started:
            yield started
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def _tcp_worker(*extra: str) -> Iterator[tuple[subprocess.Popen[bytes], tuple[str, int]]]:
    with _listening_worker(["--tcp", "127.0.0.1:0", *extra], "TCP:") as (proc, addr):
        host, _, port = addr.rpartition(":")
        yield proc, (host, int(port))


@contextlib.contextmanager
def _http_worker(*extra: str) -> Iterator[int]:
    """Start ``--http 0`` with *extra* flags; yield the port from its ``PORT:`` line."""
    with _listening_worker(["--http", "0", *extra], "PORT:") as (_, port):
        yield int(port)


@pytest.fixture(scope="session")
def conformance_subprocess() -> Iterator[SubprocessTransport]:
    """One worker process shared by the whole session (per xdist worker)."""
    transport = SubprocessTransport(_worker())
    yield transport
    transport.close()


@pytest.fixture(scope="session")
def conformance_unix_path() -> Iterator[str]:
    with _unix_worker("unix") as (_, path):
        yield path


@pytest.fixture(scope="session")
def conformance_unix_threaded_path() -> Iterator[str]:
    with _unix_worker("unix-threaded", "--threaded") as (_, path):
        yield path


def _stop_launched_worker(path: str) -> None:
    """End the worker listening on *path*, found by its socket's peer credentials.

    The launcher hands back only the socket path (a launched worker normally
    outlives its launcher and leaves on its own after ``--idle-timeout``); the
    kernel knows which process listens there. The worker removes its socket
    file on a clean exit, which is what we wait for.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        pid, _uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    except OSError:
        return  # nothing listens there any more
    finally:
        sock.close()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10.0
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    if os.path.exists(path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def conformance_unix_launcher_path() -> Iterator[str]:
    """Our worker started by the reference's launcher, ``vgi_rpc.launcher.launch``.

    The launcher derives the socket path from a hash of the command, takes the
    per-hash file lock, appends ``--unix PATH --idle-timeout SEC`` and waits for
    the worker's ``UNIX:<path>`` line: the launcher worker contract end to end.
    The command asks for ``--threaded``, as the reference's launched worker
    (``run_server``) serves its clients concurrently.
    """
    from vgi_rpc.launcher import LaunchConfig, launch

    state_dir = tempfile.mkdtemp(prefix="vgi-launch-")  # mode 0700, as the launcher requires
    config = LaunchConfig(
        worker_argv=tuple(_worker("--threaded")),
        # Outlasts the session; the fixture stops the worker anyway.
        idle_timeout=600.0,
        connect_timeout=15.0,
        worker_startup_timeout=STARTUP_TIMEOUT,
        worker_stderr=os.path.join(state_dir, "worker.stderr"),
        state_dir=state_dir,
    )
    path = launch(config)
    try:
        yield path
    finally:
        _stop_launched_worker(path)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def conformance_tcp_addr() -> Iterator[tuple[str, int]]:
    # The reference's TCP conformance worker is threaded too.
    with _tcp_worker("--threaded") as (_, addr):
        yield addr


# ---------------------------------------------------------------------------
# The transport matrix
# ---------------------------------------------------------------------------

Connect = Callable[[pytest.FixtureRequest, type, Any], contextlib.AbstractContextManager[Any]]
Describe = Callable[[pytest.FixtureRequest], ServiceDescription]


@contextlib.contextmanager
def _shared_subprocess(request: pytest.FixtureRequest, protocol: type, on_log: Any) -> Iterator[Any]:
    yield _RpcProxy(protocol, request.getfixturevalue("conformance_subprocess"), on_log)


def _unix(fixture: str) -> tuple[Connect, Describe]:
    def conn(request: pytest.FixtureRequest, protocol: type, on_log: Any) -> Any:
        return unix_connect(protocol, request.getfixturevalue(fixture), on_log=on_log)

    def describe(request: pytest.FixtureRequest) -> ServiceDescription:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(request.getfixturevalue(fixture))
        except BaseException:
            sock.close()
            raise
        transport = UnixTransport(sock)
        try:
            return introspect(transport)
        finally:
            transport.close()

    return conn, describe


def _tcp_conn(request: pytest.FixtureRequest, protocol: type, on_log: Any) -> Any:
    host, port = request.getfixturevalue("conformance_tcp_addr")
    return tcp_connect(protocol, host, port, on_log=on_log)


def _tcp_describe(request: pytest.FixtureRequest) -> ServiceDescription:
    transport = TcpTransport(socket.create_connection(request.getfixturevalue("conformance_tcp_addr")))
    try:
        return introspect(transport)
    finally:
        transport.close()


def _http_conn(request: pytest.FixtureRequest, protocol: type, on_log: Any) -> Any:
    return http_connect(protocol, f"http://127.0.0.1:{request.getfixturevalue('conformance_http_port')}", on_log=on_log)


def _http_describe(request: pytest.FixtureRequest) -> ServiceDescription:
    return http_introspect(base_url=f"http://127.0.0.1:{request.getfixturevalue('conformance_http_port')}")


def _loopback_external_config() -> Any:
    """Client-side pointer resolution for the fixture storage's ``http://127.0.0.1`` URLs.

    The default validator is HTTPS-only and would (rightly) refuse them.
    """
    from vgi_rpc.external import ExternalLocationConfig

    return ExternalLocationConfig(url_validator=None)


@contextlib.contextmanager
def _http_external_conn(request: pytest.FixtureRequest, protocol: type, on_log: Any) -> Iterator[Any]:
    port = request.getfixturevalue("conformance_http_externalize_always_port")
    config = _loopback_external_config()
    try:
        with http_connect(protocol, f"http://127.0.0.1:{port}", on_log=on_log, external_location=config) as proxy:
            yield proxy
    finally:
        config.fetch_config.close()


def _http_external_describe(request: pytest.FixtureRequest) -> ServiceDescription:
    # This worker externalizes every reply, reflection's included.
    port = request.getfixturevalue("conformance_http_externalize_always_port")
    return http_introspect(base_url=f"http://127.0.0.1:{port}", external_location=_loopback_external_config())


def _subprocess_describe(request: pytest.FixtureRequest) -> ServiceDescription:
    return introspect(request.getfixturevalue("conformance_subprocess"))


def _pipe_describe(_request: pytest.FixtureRequest) -> ServiceDescription:
    transport = SubprocessTransport(_worker())
    try:
        return introspect(transport)
    finally:
        transport.close()


@dataclass(frozen=True)
class Transport:
    name: str
    # Persistent byte stream: also part of ``conformance_raw_conn``.
    byte_stream: bool
    connect: Connect | None = None
    describe: Describe | None = None
    # When the worker cannot serve this transport yet: the capability it lacks.
    missing: str | None = None


_UNIX, _UNIX_DESCRIBE = _unix("conformance_unix_path")
_UNIX_THREADED, _UNIX_THREADED_DESCRIBE = _unix("conformance_unix_threaded_path")
_UNIX_LAUNCHER, _UNIX_LAUNCHER_DESCRIBE = _unix("conformance_unix_launcher_path")

# The reference conftest's matrix, in its order.
TRANSPORTS = [
    # A fresh worker process per connection.
    Transport("pipe", True, lambda _r, p, log: connect(p, _worker(), on_log=log), _pipe_describe),
    # One worker process for the session; every connection shares its pipes.
    Transport("subprocess", True, _shared_subprocess, _subprocess_describe),
    Transport("http", False, _http_conn, _http_describe),
    # Every non-empty response batch leaves through the fake storage.
    Transport("http_externalize_always", False, _http_external_conn, _http_external_describe),
    Transport("unix", True, _UNIX, _UNIX_DESCRIBE),
    Transport("unix_threaded", True, _UNIX_THREADED, _UNIX_THREADED_DESCRIBE),
    # Started through the reference's launcher (vgi_rpc.launcher.launch).
    Transport("unix_launcher", True, _UNIX_LAUNCHER, _UNIX_LAUNCHER_DESCRIBE),
    Transport("tcp", True, _tcp_conn, _tcp_describe),
]
BY_NAME = {t.name: t for t in TRANSPORTS}


def _params(transports: list[Transport]) -> list[Any]:
    """Fixture params; a transport the worker lacks is collected with a skip mark naming the capability."""

    def marks(t: Transport) -> list[Any]:
        return [pytest.mark.skip(reason=f"transport {t.name}: the Rust worker lacks {t.missing}")] if t.missing else []

    return [pytest.param(t.name, marks=marks(t)) for t in transports]


def _connect(request: pytest.FixtureRequest, transport: str, protocol: type, on_log: Any) -> Any:
    """A context manager yielding a proxy for *protocol* on *transport*'s worker."""
    entry = BY_NAME.get(transport)
    if entry is None:
        raise ValueError(f"no conformance transport named {transport!r}")
    if entry.connect is None:
        pytest.skip(f"transport {transport}: the Rust worker lacks {entry.missing}")
    return entry.connect(request, protocol, on_log)


@pytest.fixture(params=_params(TRANSPORTS))
def conformance_conn(request: pytest.FixtureRequest) -> ConnFactory:
    """Factory of ConformanceService connections, one parametrization per transport."""

    def factory(on_log: Any = None) -> contextlib.AbstractContextManager[Any]:
        return _connect(request, request.param, ConformanceService, on_log)

    return factory


@pytest.fixture(params=_params([t for t in TRANSPORTS if t.byte_stream]))
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


@pytest.fixture(params=_params(TRANSPORTS))
def conformance_describe(request: pytest.FixtureRequest) -> ServiceDescription:
    """The worker's description, fetched over the wire on each transport."""
    entry = BY_NAME[request.param]
    assert entry.describe is not None
    return entry.describe(request)


# ---------------------------------------------------------------------------
# Optional groups backed by the Rust worker
# ---------------------------------------------------------------------------


# Workers the resource-soak group samples: one dedicated, otherwise idle
# process per test, on every transport the worker serves. ``connect()`` must
# hand out fresh clients to that same process, so "pipe" here is the
# reference's ``subprocess`` shape (fresh proxies over one worker's pipes); a
# new worker per connection would leave nothing to sample.
_SOAK_TRANSPORTS = ["pipe", "unix_threaded", "tcp", "http"]


@contextlib.contextmanager
def _soak_worker(transport: str) -> Iterator[tuple[int, Callable[[], contextlib.AbstractContextManager[Any]]]]:
    """Start a dedicated worker for *transport*; yield its pid and a connect factory."""
    if transport == "pipe":
        pipe = SubprocessTransport(_worker())

        @contextlib.contextmanager
        def over_pipe() -> Iterator[Any]:
            yield _RpcProxy(ConformanceService, pipe, None)

        try:
            yield pipe.proc.pid, over_pipe
        finally:
            pipe.close()
    elif transport == "unix_threaded":
        with _unix_worker("soak", "--threaded") as (proc, path):
            yield proc.pid, lambda: unix_connect(ConformanceService, path)
    elif transport == "tcp":
        with _tcp_worker("--threaded") as (proc, (host, port)):
            yield proc.pid, lambda: tcp_connect(ConformanceService, host, port)
    elif transport == "http":
        with _listening_worker(["--http", "0"], "PORT:") as (proc, port):
            url = f"http://127.0.0.1:{int(port)}"
            yield proc.pid, lambda: http_connect(ConformanceService, url)
    else:
        raise ValueError(f"no resource-soak transport named {transport!r}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the resource-soak group once per transport in ``_SOAK_TRANSPORTS``.

    The group looks ``conformance_resource_soak_target`` up by name at run
    time (it is optional), so pytest cannot see the fixture's parameters at
    collection; this puts the fixture in those tests' closure and
    parametrizes it. Nothing about the tests themselves changes.
    """
    name = "conformance_resource_soak_target"
    if metafunc.cls is not None and issubclass(metafunc.cls, TestResourceSoak) and name not in metafunc.fixturenames:
        metafunc.fixturenames.append(name)
        metafunc.parametrize(name, _SOAK_TRANSPORTS, indirect=True)


@pytest.fixture
def conformance_resource_soak_target(request: pytest.FixtureRequest) -> Iterator[ResourceSoakTarget]:
    """A fresh worker per test on each transport, sampled by pid, with the contract's default limits.

    Socket and HTTP workers serve each connection concurrently (a thread per
    socket connection; tokio tasks over HTTP), so descriptor and thread drift
    from connection churn is observable.
    """
    with _soak_worker(request.param) as (pid, connect):
        yield ResourceSoakTarget(
            name=f"rust-{request.param}",
            pid=pid,
            connect=connect,
            limits=ResourceSoakLimits(),
        )


@pytest.fixture(scope="session")
def conformance_http_port() -> Iterator[int]:
    """The session's plain HTTP worker (the reference worker's ``--http`` mode)."""
    with _http_worker() as port:
        yield port


# Sticky sessions' failure paths (docs/sticky-sessions-spec.md §9.1): the
# plain worker is sticky by default, as the reference's; these three need
# workers it cannot stand in for.


@pytest.fixture(scope="class")
def conformance_http_sticky_short_ttl_port() -> Iterator[int]:
    """A sticky worker whose sessions live one second."""
    with _http_worker("--sticky-ttl", "1") as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_sticky_peer_ports() -> Iterator[tuple[int, int]]:
    """Two sticky workers sharing one token key, with distinct server ids."""
    key = os.urandom(32).hex()
    with (
        _http_worker("--token-key", key, "--server-id", "sticky-peer-a") as port_a,
        _http_worker("--token-key", key, "--server-id", "sticky-peer-b") as port_b,
    ):
        yield port_a, port_b


@pytest.fixture(scope="class")
def conformance_http_sticky_auth_port() -> Iterator[int]:
    """A sticky worker authenticating ``X-Conformance-Principal`` (anonymous without it)."""
    with _http_worker("--sticky-auth") as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_cold_call_cache_port() -> Iterator[int]:
    """Every continuation must resolve the client's echoed call token."""
    with _http_worker("--no-call-state-cache") as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_no_compression_port() -> Iterator[int]:
    """Response compression off: advertises an empty ``VGI-Supported-Encodings``."""
    with _http_worker("--no-compression") as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_small_request_cap_port() -> Iterator[int]:
    """A deliberately small request cap (the reference fixture's 4096 bytes)."""
    with _http_worker("--max-request-bytes", "4096") as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_strict_cap_port() -> Iterator[int]:
    """Tight response caps, as the reference's strict worker (1 MiB body, 1 MiB external)."""
    with _http_worker("--max-response-bytes", "1048576", "--max-externalized-response-bytes", "1048576") as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_access_log() -> Iterator[tuple[int, Path]]:
    """An HTTP worker writing an access log: ``(port, path)``."""
    directory = tempfile.mkdtemp(prefix="vgi-log-")
    path = Path(directory) / "conformance.log"
    try:
        with _http_worker("--access-log", str(path)) as port:
            yield port, path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="class")
def conformance_http_auth_port() -> Iterator[int]:
    """Every RPC refused with 401 (``--http-auth``); ``/health`` still answers."""
    with _http_worker("--http-auth") as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_auth_reason_port(conformance_http_auth_port: int) -> int:
    """The same worker: it maps ``X-Conformance-Auth-Reason`` onto the refusal's reason."""
    return conformance_http_auth_port


@pytest.fixture(scope="session")
def proof_worker_factory() -> Iterator[Callable[..., Any]]:
    """Spawn HTTP workers gated on proxy proof (``docs/proxy-proof-spec.md``).

    The suite's ``TestProxyProof`` / ``TestUnauthorized`` proxy tests call the
    factory with a ``ProofWorkerConfig``; the worker mounts RPC under ``/vgi``
    and, like the reference proof worker, has no credential behind the gate.
    """
    from vgi_rpc.conformance.proof_harness import ProofWorker, ProofWorkerConfig

    @contextlib.contextmanager
    def spawn(config: ProofWorkerConfig) -> Iterator[ProofWorker]:
        flags = [
            "--prefix",
            "/vgi",
            "--proof-mode",
            config.mode,
            "--proof-origin-id",
            config.origin_id,
            "--proof-secrets",
            config.secrets,
            "--proof-skew",
            str(config.skew_seconds),
        ]
        if not config.replay_cache:
            flags.append("--proof-no-replay-cache")
        with _http_worker(*flags) as port:
            yield ProofWorker(port=port, prefix="/vgi", config=config)

    yield spawn


# ---------------------------------------------------------------------------
# vgi_rpc.Identity.v2 and sealed grants (--identity, IDENTITY_CONFORMANCE_FIXTURE.md)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def conformance_http_identity_port() -> Iterator[int]:
    """Identity hosted with both methods: the fixture resolver and minter."""
    with _http_worker("--identity", "both") as port:
        yield port


@pytest.fixture(scope="session")
def conformance_http_identity_introspect_only_port() -> Iterator[int]:
    """Identity with the resolver alone, so ``issue_grant`` is not hosted."""
    with _http_worker("--identity", "introspect-only") as port:
        yield port


@pytest.fixture(scope="session")
def conformance_http_grant_port() -> Iterator[int]:
    """The grant worker: resolver, the fixture's sealed-grant keys (no mint hook) and ``conformance.Whoami.v1``."""
    with _http_worker("--identity", "grants") as port:
        yield port


# ---------------------------------------------------------------------------
# Transport lifecycle: serve-start hook and the transport kind handlers see
# ---------------------------------------------------------------------------


@pytest.fixture(scope="class")
def conformance_http_serve_start_fail_once_port() -> Iterator[int]:
    """A worker whose first serve-start notification fails (``--fail-serve-start-once``).

    Readiness is its ``PORT:`` line only: any HTTP request, a health check
    included, could be the one that consumes the injected failure.
    """
    with _http_worker("--fail-serve-start-once") as port:
        yield port


class TransportKindProbe(Protocol):
    """``conformance.TransportKind.v1``, hosted by workers started with ``--transport-kind-probe``."""

    protocol_name: ClassVar[str] = "conformance.TransportKind.v1"

    def report_transport_kind(self) -> str:
        """The transport kind the worker's handler saw for this call."""
        ...


def _kind_over_pipe() -> str:
    with connect(TransportKindProbe, _worker("--transport-kind-probe")) as proxy:
        return str(proxy.report_transport_kind())


def _kind_over_unix() -> str:
    with _unix_worker("kind", "--transport-kind-probe") as (_, path):
        with unix_connect(TransportKindProbe, path) as proxy:
            return str(proxy.report_transport_kind())


def _kind_over_tcp() -> str:
    with _tcp_worker("--transport-kind-probe") as (_, (host, port)):
        with tcp_connect(TransportKindProbe, host, port) as proxy:
            return str(proxy.report_transport_kind())


def _kind_over_http() -> str:
    with _http_worker("--transport-kind-probe") as port:
        with http_connect(TransportKindProbe, f"http://127.0.0.1:{port}") as proxy:
            return str(proxy.report_transport_kind())


@pytest.fixture(scope="session")
def conformance_transport_kind_probes() -> tuple[tuple[str, Callable[[], str]], ...]:
    """One probe per transport the worker serves: each starts its own worker
    with ``--transport-kind-probe``, asks over that transport which kind the
    handler's call context reports, and stops the worker."""
    return (
        ("pipe", _kind_over_pipe),
        ("http", _kind_over_http),
        ("tcp", _kind_over_tcp),
        ("unix", _kind_over_unix),
    )


# ---------------------------------------------------------------------------
# External storage: the reference's fake-storage service, in this process
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def conformance_fake_storage() -> Iterator[str]:
    """The reference's in-memory fake object store on a thread; yields its base URL."""
    from vgi_rpc.conformance.fake_storage import serve_in_thread

    base_url, shutdown = serve_in_thread()
    try:
        yield base_url
    finally:
        shutdown()


@pytest.fixture(scope="session")
def conformance_http_externalize_always_port(conformance_fake_storage: str) -> Iterator[int]:
    """Every non-empty response batch externalized; a loose inline request cap."""
    with _http_worker(
        "--fake-storage",
        conformance_fake_storage,
        "--externalize-threshold",
        "1",
        "--max-request-bytes",
        "1048576",
    ) as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_with_storage_port(conformance_fake_storage: str) -> Iterator[int]:
    """Storage wired with the default 4 KiB threshold (also the advertised request cap)."""
    with _http_worker("--fake-storage", conformance_fake_storage) as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_with_zstd_storage_port(conformance_fake_storage: str) -> Iterator[int]:
    """Storage wired, externalized payloads zstd-coded."""
    with _http_worker("--fake-storage", conformance_fake_storage, "--compression", "zstd") as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_externalized_cap_port(conformance_fake_storage: str) -> Iterator[int]:
    """A tight external cap (64 KiB) beside a generous body cap (8 MiB), as the reference's fixture."""
    with _http_worker(
        "--fake-storage",
        conformance_fake_storage,
        "--max-externalized-response-bytes",
        str(64 * 1024),
        "--max-response-bytes",
        str(8 * 1024 * 1024),
    ) as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_external_security_port(conformance_fake_storage: str) -> Iterator[int]:
    """Distinct encoded (4 KiB) and decoded (8 KiB) fetch caps; only 127.0.0.1 at every redirect hop."""
    with _http_worker(
        "--fake-storage",
        conformance_fake_storage,
        "--max-request-bytes",
        "1048576",
        "--max-fetch-bytes",
        "4096",
        "--max-decompressed-fetch-bytes",
        "8192",
        "--reject-localhost-redirects",
    ) as port:
        yield port


@pytest.fixture(scope="class")
def conformance_http_cors_port(conformance_fake_storage: str) -> Iterator[int]:
    """CORS for the suite's origin on a storage-enabled worker, so the conditional
    capability headers (upload URLs, externalization) are advertised and must be exposed."""
    with _http_worker("--cors-origin", "https://conformance.example", "--fake-storage", conformance_fake_storage) as port:
        yield port


@pytest.fixture(scope="session")
def conformance_bytestream_external_target(conformance_fake_storage: str) -> Any:
    """Byte-stream externalization: a pipe worker with a one-byte threshold, the
    reference client resolving its pointers from the same fake storage."""
    from vgi_rpc.conformance._external_bytestream_pytest import ByteStreamExternalTarget

    import httpx2

    @contextlib.contextmanager
    def connect_external(on_log: Any = None) -> Iterator[Any]:
        config = _loopback_external_config()
        argv = _worker("--fake-storage", conformance_fake_storage, "--externalize-threshold", "1")
        try:
            with connect(ConformanceService, argv, on_log=on_log, external_location=config) as proxy:
                yield proxy
        finally:
            config.fetch_config.close()

    def uploaded_objects() -> int:
        response = httpx2.get(f"{conformance_fake_storage}/_stats", timeout=5.0)
        response.raise_for_status()
        return int(response.json()["object_count"])

    return ByteStreamExternalTarget(name="rust-pipe", connect=connect_external, uploaded_objects=uploaded_objects)
