//! The command line as clap reads it: how to reach the worker (one of
//! `--cmd`, `--url`, `--unix`, `--tcp`), the output format and destination,
//! and the subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Look at and call a vgi-rpc service.
#[derive(Debug, Parser)]
#[command(name = "vgi-rpc", version, about, long_about = None)]
pub struct Cli {
    /// How to reach the worker.
    #[command(flatten)]
    pub target: Target,
    /// Connection settings beside the target.
    #[command(flatten)]
    pub connect: ConnectOptions,
    /// Output format: `auto` is a table on a terminal and JSON lines otherwise.
    #[arg(long, short = 'f', global = true, value_enum, default_value = "auto")]
    pub format: Format,
    /// Write the output to this file instead of stdout.
    #[arg(long, short = 'o', global = true)]
    pub output: Option<PathBuf>,
    /// Print the server's log messages on stderr.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The worker to talk to. At most one may be given; `launcher` needs none.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct Target {
    /// Start this worker command (e.g. "vgi-rpc-conformance --describe") and
    /// talk to it over its stdin/stdout.
    #[arg(long, short = 'c', global = true, value_name = "\"PROGRAM ARGS\"")]
    pub cmd: Option<String>,
    /// An HTTP worker's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, short = 'u', global = true)]
    pub url: Option<String>,
    /// A worker listening on this Unix socket.
    #[arg(long, global = true, value_name = "PATH")]
    pub unix: Option<PathBuf>,
    /// A worker listening on this TCP address.
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub tcp: Option<String>,
}

/// Connection settings beside the target.
#[derive(Debug, Clone, Args)]
pub struct ConnectOptions {
    /// URL path prefix of an HTTP worker's routes (e.g. /vgi).
    #[arg(long, short = 'p', global = true, default_value = "")]
    pub prefix: String,
    /// Seconds to wait for each HTTP request (0: forever).
    #[arg(long, global = true, default_value_t = 60.0)]
    pub timeout: f64,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table on a terminal, JSON lines otherwise.
    Auto,
    /// An aligned text table.
    Table,
    /// JSON (one object per row for calls; one document for describe).
    Json,
    /// An Arrow IPC stream (calls only).
    Arrow,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the service's protocols and methods with their parameter, result and header schemas.
    Describe(DescribeArgs),
    /// Call a unary, producer or exchange method.
    Call(CallArgs),
    /// Check that the worker answers (HTTP: GET {prefix}/health; others: a reflection round trip).
    Health(HealthArgs),
    /// Workers started by the launcher (warm Unix-socket workers).
    Launcher(LauncherArgs),
}

/// `describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// Only this protocol (default: every hosted protocol but reflection).
    #[arg(long)]
    pub protocol: Option<String>,
    /// Include the reflection protocol itself.
    #[arg(long)]
    pub all: bool,
}

/// `call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The method's name.
    pub method: String,
    /// Parameters as NAME=VALUE, typed by the method's parameter schema.
    #[arg(value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Parameters as one JSON object; NAME=VALUE pairs override its keys.
    #[arg(long, value_name = "JSON")]
    pub json: Option<String>,
    /// The protocol that holds the method (needed only when several do).
    #[arg(long)]
    pub protocol: Option<String>,
    /// Send this protocol version (default: the one the worker reports).
    #[arg(long)]
    pub protocol_version: Option<String>,
    /// Exchange input: a JSON lines file (one row per line) or an Arrow IPC
    /// stream file; `-` is stdin (the default when stdin is not a terminal).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Rows of JSON input sent per exchange turn.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub rows_per_batch: u32,
    /// Stop a producer stream after this many batches.
    #[arg(long)]
    pub max_batches: Option<u64>,
}

/// `health`.
#[derive(Debug, Args)]
pub struct HealthArgs {}

/// `launcher`.
#[derive(Debug, Args)]
pub struct LauncherArgs {
    /// The launcher's state directory (default: $XDG_RUNTIME_DIR/vgi-rpc, else $TMPDIR/vgi-rpc-UID).
    #[arg(long, global = true)]
    pub state_dir: Option<PathBuf>,
    /// What to do with the launched workers.
    #[command(subcommand)]
    pub action: LauncherAction,
}

/// `launcher status` / `launcher clean`.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum LauncherAction {
    /// List launched workers and whether each still answers.
    Status,
    /// Remove the files of workers that no longer answer.
    Clean,
}
