//! The launcher against real worker processes: spawn, reuse, a crashed
//! worker, a stale socket file, a non-socket in the way, concurrent
//! launches racing for the lock, idle exit and relaunch, status and clean-up.
//!
//! The worker is this test binary itself: the launcher runs
//! `THIS_BINARY worker_entry --exact --ignored --nocapture -- --unix PATH
//! --idle-timeout SEC`, which runs only the ignored `worker_entry` below; it
//! serves a small protocol whose `pid` method names the process that answered.

use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Schema};
use vgi_rpc_core::{MethodDef, Protocol, Server};
use vgi_rpc_stdio::launcher::{self, current_worker_hash, LaunchConfig, LaunchError};
use vgi_rpc_stdio::unix::serve_unix;
use vgi_rpc_stdio::{Shutdown, SocketOptions, UnixClient};

const PROTOCOL: &str = "launcher.TestWorker.v1";

/// Worker mode: serve until idle (or SIGTERM). Ignored in ordinary runs.
#[test]
#[ignore = "the launcher tests' worker process, not a test"]
fn worker_entry() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let socket = PathBuf::from(value("--unix").expect("--unix PATH"));
    let idle: f64 = value("--idle-timeout").expect("--idle-timeout SEC").parse().expect("seconds");
    let protocol = Protocol::new(PROTOCOL).method(
        MethodDef::builder("pid")
            .returns(DataType::Int64, false)
            .unary(|_, _| Ok(Some(Arc::new(Int64Array::from(vec![i64::from(std::process::id())])) as ArrayRef))),
    );
    let server = Server::builder().protocol(protocol).build().expect("server");
    let options = SocketOptions {
        threaded: true,
        exit_when_idle: Some(Duration::from_secs_f64(idle)),
        ..SocketOptions::default()
    };
    let shutdown = Shutdown::new().expect("shutdown");
    shutdown.on_signals().expect("signals");
    // A leading newline ends whatever line the test harness left open.
    serve_unix(&server, &socket, options, &shutdown, |bound| println!("\nUNIX:{}", bound.display())).expect("serve");
}

/// A fresh state directory, removed (with its workers stopped) on drop.
struct Scratch {
    dir: PathBuf,
    pids: Vec<u32>,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vgi-launcher-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self { dir, pids: Vec::new() }
    }

    fn config(&self, idle: Duration) -> LaunchConfig {
        LaunchConfig::new(worker_argv())
            .state_dir(&self.dir)
            .idle_timeout(idle)
            .worker_stderr(self.dir.join("worker.stderr"))
    }

    fn socket(&self) -> PathBuf {
        let hash = current_worker_hash(&worker_argv()).expect("hash");
        self.dir.join(format!("{hash}.sock"))
    }

    fn track(&mut self, launched: &launcher::Launched) {
        self.pids.extend(launched.spawned_pid);
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for &pid in &self.pids {
            terminate(pid, libc::SIGTERM);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn worker_argv() -> Vec<String> {
    let exe = std::env::current_exe().expect("test binary path").display().to_string();
    [exe.as_str(), "worker_entry", "--exact", "--ignored", "--nocapture", "--"].map(str::to_owned).to_vec()
}

const LONG_IDLE: Duration = Duration::from_secs(120);

fn terminate(pid: u32, signal: libc::c_int) {
    // SAFETY: kill has no memory preconditions.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
}

fn process_exists(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// Wait (bounded) for `done`; false when it never happened.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// Which process answers on this client.
fn answering_pid(client: &mut UnixClient) -> u32 {
    let no_params = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .expect("params");
    let response = client.call(PROTOCOL, "pid", &no_params).expect("pid call");
    let value = response.value().expect("a result");
    let pids = value.as_any().downcast_ref::<Int64Array>().expect("int64");
    assert_eq!(pids.len(), 1);
    u32::try_from(pids.value(0)).expect("pid")
}

#[test]
fn spawns_once_then_reuses_the_warm_worker() {
    let mut scratch = Scratch::new("reuse");
    let config = scratch.config(LONG_IDLE);
    let first = launcher::launch(&config).expect("launch");
    scratch.track(&first);
    let pid = first.spawned_pid.expect("the first launch spawns");
    assert_eq!(first.socket, scratch.socket());

    let second = launcher::launch(&config).expect("relaunch");
    assert_eq!(second, launcher::Launched { socket: first.socket.clone(), spawned_pid: None });
    let mut a = launcher::connect(&config).expect("connect");
    let mut b = launcher::connect(&config).expect("connect again");
    assert_eq!((answering_pid(&mut a), answering_pid(&mut b)), (pid, pid));

    let rows = launcher::status(&scratch.dir).expect("status");
    assert_eq!(rows.len(), 1);
    assert!(rows[0].alive);
    assert_eq!((rows[0].cmd.clone(), rows[0].socket.clone()), (worker_argv(), first.socket));
}

#[test]
fn a_crashed_worker_is_replaced_and_cleaned_up() {
    let mut scratch = Scratch::new("crash");
    let config = scratch.config(LONG_IDLE);
    let first = launcher::launch(&config).expect("launch");
    scratch.track(&first);
    let dead = first.spawned_pid.expect("spawned");
    terminate(dead, libc::SIGKILL);
    // The launcher reaps its child, so the pid disappears.
    assert!(eventually(Duration::from_secs(10), || !process_exists(dead)), "worker {dead} survived SIGKILL");
    assert!(first.socket.exists(), "SIGKILL leaves the socket file behind");
    let rows = launcher::status(&scratch.dir).expect("status");
    assert_eq!(rows.iter().map(|r| r.alive).collect::<Vec<_>>(), [false]);

    // The dead entry is what clean-up removes.
    let report = launcher::gc(&scratch.dir, None, None).expect("gc");
    assert_eq!(report.cleaned.len(), 1);
    assert!(!first.socket.exists());
    assert!(launcher::status(&scratch.dir).expect("status").is_empty());

    let mut client = launcher::connect(&config).expect("connect spawns a new worker");
    let pid = answering_pid(&mut client);
    scratch.pids.push(pid);
    assert_ne!(pid, dead);
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let mut scratch = Scratch::new("stale");
    std::fs::create_dir_all(&scratch.dir).expect("state dir");
    let socket = scratch.socket();
    drop(UnixListener::bind(&socket).expect("bind"));
    assert!(socket.exists() && !launcher::is_listening(&socket));

    let launched = launcher::launch(&scratch.config(LONG_IDLE)).expect("launch over a stale socket");
    scratch.track(&launched);
    assert!(launched.spawned_pid.is_some());
    assert!(launcher::is_listening(&socket));
}

#[test]
fn a_regular_file_in_the_way_is_left_alone() {
    let scratch = Scratch::new("file");
    std::fs::create_dir_all(&scratch.dir).expect("state dir");
    let socket = scratch.socket();
    std::fs::write(&socket, b"somebody's data").expect("file");
    let refused = launcher::launch(&scratch.config(LONG_IDLE));
    assert!(matches!(refused, Err(LaunchError::NotASocket(ref p)) if p == &socket), "{refused:?}");
    assert_eq!(std::fs::read(&socket).expect("still there"), b"somebody's data");
}

#[test]
fn concurrent_launches_spawn_exactly_one_worker() {
    const RACERS: usize = 8;
    let mut scratch = Scratch::new("race");
    let config = scratch.config(LONG_IDLE);
    let start = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let (config, start) = (config.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let launched = launcher::launch(&config).expect("launch");
                let mut client = launcher::connect(&config).expect("connect");
                (launched, answering_pid(&mut client))
            })
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|r| r.join().expect("racer")).collect();
    for (launched, _) in &results {
        scratch.track(launched);
    }
    let spawned: Vec<u32> = results.iter().filter_map(|(l, _)| l.spawned_pid).collect();
    assert_eq!(spawned.len(), 1, "exactly one racer spawns: {spawned:?}");
    assert!(results.iter().all(|(_, pid)| *pid == spawned[0]), "every racer reached the one worker");
}

#[test]
fn an_idle_worker_exits_and_is_launched_again_on_demand() {
    let mut scratch = Scratch::new("idle");
    let config = scratch.config(Duration::from_millis(300));
    let mut client = launcher::connect(&config).expect("connect");
    let first = answering_pid(&mut client);
    scratch.pids.push(first);
    drop(client);
    // No connection left: the worker leaves by itself and removes its socket.
    let socket = scratch.socket();
    assert!(eventually(Duration::from_secs(20), || !socket.exists()), "idle worker kept its socket");
    assert!(eventually(Duration::from_secs(10), || !process_exists(first)), "idle worker {first} still running");

    let mut client = launcher::connect(&config).expect("connect after idle exit");
    let second = answering_pid(&mut client);
    scratch.pids.push(second);
    assert_ne!(first, second);
}

#[test]
fn an_empty_command_is_refused() {
    let scratch = Scratch::new("empty");
    let config = LaunchConfig::new(Vec::<String>::new()).state_dir(&scratch.dir);
    assert!(matches!(launcher::launch(&config), Err(LaunchError::EmptyCommand)));
}
