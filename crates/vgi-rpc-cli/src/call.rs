//! `vgi-rpc call METHOD`: find the method in the worker's description,
//! build its parameters, run it as a unary call, a producer stream or an
//! exchange stream, and write what comes back.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use vgi_rpc_core::typed::RpcClient;
use vgi_rpc_core::wire::log::LogMessage;
use vgi_rpc_core::{Metadata, StreamOptions};

use crate::args::CallArgs;
use crate::error::CliError;
use crate::input::Inputs;
use crate::output::Sink;
use crate::progress::Progress;
use crate::reflect::{Kind, MethodInfo, Service};
use crate::suggest::close_names;

/// Everything `call` needs besides the connection.
pub struct CallSettings<'a> {
    /// The parsed arguments.
    pub args: &'a CallArgs,
    /// Print server logs on stderr.
    pub verbose: bool,
}

/// Run the call and write its results into `sink`.
pub fn run(
    client: &mut dyn RpcClient,
    service: &Service,
    settings: &CallSettings<'_>,
    sink: &mut Sink,
) -> Result<(), CliError> {
    let args = settings.args;
    let (protocol, method) = find(service, &args.method, args.protocol.as_deref())?;
    if let Some(message) = &method.deprecated {
        eprintln!("vgi-rpc: warning: {} is deprecated: {message}", method.name);
    }
    let version = args.protocol_version.clone().unwrap_or_else(|| protocol.summary.version.clone());
    if !version.is_empty() {
        client.set_protocol_version(&protocol.summary.name, &version);
    }
    let params = crate::params::build(&method.name, &method.params, &args.params, args.json.as_deref())?;
    let protocol_name = protocol.summary.name.as_str();
    let mut logs = LogPrinter { verbose: settings.verbose, seen: 0 };
    let context = || format!("calling {}", method.name);
    match kind_to_run(method, args.input.as_deref()) {
        Kind::Unary => {
            let response = client
                .unary(protocol_name, &method.name, &params, &Metadata::new())
                .map_err(|e| CliError::call(context(), e))?;
            logs.print(&response.logs);
            if response.batch.num_columns() == 0 {
                // A void method: say so in the chosen shape.
                return if sink.is_json() { sink.line("{\"result\":null}") } else { sink.line("(no result)") };
            }
            sink.batch(&response.batch, &response.metadata)
        }
        Kind::Exchange => exchange(client, protocol_name, method, &params, settings, sink, &mut logs),
        _ => producer(client, protocol_name, method, &params, settings, sink, &mut logs),
    }
}

/// How to run a method: an unclassified stream is an exchange when input was given.
fn kind_to_run(method: &MethodInfo, input: Option<&Path>) -> Kind {
    match method.kind {
        Kind::Stream if input.is_some() || !std::io::stdin().is_terminal() => Kind::Exchange,
        Kind::Stream => Kind::Producer,
        k => k,
    }
}

/// The protocol and method named `name` (in `protocol` when given).
fn find<'s>(
    service: &'s Service,
    name: &str,
    protocol: Option<&str>,
) -> Result<(&'s crate::reflect::ServiceDescription, &'s MethodInfo), CliError> {
    let mut hits = Vec::new();
    for p in &service.described {
        if protocol.is_some_and(|want| want != p.summary.name) {
            continue;
        }
        if let Some(m) = p.methods.iter().find(|m| m.name == name) {
            hits.push((p, m));
        }
    }
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => {
            let all: Vec<&str> =
                service.described.iter().flat_map(|p| p.methods.iter().map(|m| m.name.as_str())).collect();
            let close = close_names(name, all.iter().copied());
            let hint = if close.is_empty() {
                "run `vgi-rpc describe` to list the methods".to_owned()
            } else {
                format!("did you mean {}? (`vgi-rpc describe` lists every method)", close.join(", "))
            };
            let place = protocol.map(|p| format!(" in protocol {p:?}")).unwrap_or_default();
            Err(CliError::usage_hint(format!("unknown method {name:?}{place}"), hint))
        }
        _ => {
            // The protocols come in the worker's order (its primary first):
            // take the first and say which others have the name too.
            let others: Vec<&str> = hits[1..].iter().map(|(p, _)| p.summary.name.as_str()).collect();
            eprintln!(
                "vgi-rpc: note: {name} is in {} and also in {}; calling the first (choose with --protocol NAME)",
                hits[0].0.summary.name,
                others.join(", ")
            );
            Ok(hits.remove(0))
        }
    }
}

fn stream_options(method: &MethodInfo) -> StreamOptions {
    StreamOptions { has_header: method.header.is_some(), ..StreamOptions::default() }
}

fn producer(
    client: &mut dyn RpcClient,
    protocol: &str,
    method: &MethodInfo,
    params: &RecordBatch,
    settings: &CallSettings<'_>,
    sink: &mut Sink,
    logs: &mut LogPrinter,
) -> Result<(), CliError> {
    let context = || format!("calling {}", method.name);
    let mut stream = client
        .open_producer(protocol, &method.name, params, &stream_options(method))
        .map_err(|e| CliError::call(context(), e))?;
    if let Some((header, _)) = stream.header() {
        sink.header(header)?;
    }
    let mut progress = Progress::new(&method.name);
    let tick = Metadata::new();
    loop {
        if settings.args.max_batches.is_some_and(|max| sink.batches >= max) {
            logs.print(stream.logs());
            progress.finish();
            return stream.close().map_err(|e| CliError::call(format!("closing {}", method.name), e));
        }
        let next = stream.next_batch_with(&tick);
        logs.print(stream.logs());
        match next.map_err(|e| CliError::call(context(), e))? {
            Some((batch, metadata)) => {
                sink.batch(&batch, &metadata)?;
                progress.update(sink.batches, sink.rows);
            }
            None => break,
        }
    }
    progress.finish();
    Ok(())
}

fn exchange(
    client: &mut dyn RpcClient,
    protocol: &str,
    method: &MethodInfo,
    params: &RecordBatch,
    settings: &CallSettings<'_>,
    sink: &mut Sink,
    logs: &mut LogPrinter,
) -> Result<(), CliError> {
    let args = settings.args;
    let source: PathBuf = match &args.input {
        Some(p) => p.clone(),
        None if std::io::stdin().is_terminal() => {
            return Err(CliError::usage_hint(
                format!("{} is an exchange method and needs input rows", method.name),
                "pipe JSON lines into stdin (one object per line, e.g. {\"value\": 1.5}) or pass --input FILE \
                 (JSON lines or an Arrow IPC stream)",
            ))
        }
        None => PathBuf::from("-"),
    };
    // Open the input before the stream, so a missing file fails early.
    let mut inputs = Inputs::open(&source, args.rows_per_batch as usize, method.result.clone())?;
    let context = || format!("calling {}", method.name);
    let mut stream = client
        .open_exchange(protocol, &method.name, params, &stream_options(method))
        .map_err(|e| CliError::call(context(), e))?;
    if let Some((header, _)) = stream.header() {
        sink.header(header)?;
    }
    let mut progress = Progress::new(&method.name);
    let tick = Metadata::new();
    while let Some(input) = inputs.next_batch()? {
        let out = stream.exchange_with(&input, &tick);
        logs.print(stream.logs());
        let (batch, metadata) = out.map_err(|e| CliError::call(context(), e))?;
        sink.batch(&batch, &metadata)?;
        progress.update(sink.batches, sink.rows);
    }
    progress.finish();
    let schema = inputs.schema().unwrap_or_else(|| Arc::new(Schema::empty()));
    stream.close(&schema).map_err(|e| CliError::call(format!("closing {}", method.name), e))
}

/// Server logs on stderr, each once.
struct LogPrinter {
    verbose: bool,
    seen: usize,
}

impl LogPrinter {
    /// Print the logs after those already printed.
    fn print(&mut self, logs: &[LogMessage]) {
        if self.verbose {
            for log in logs.iter().skip(self.seen) {
                match &log.extra {
                    Some(extra) if !extra.is_empty() => {
                        eprintln!("[{}] {} {}", log.level, log.message, serde_json::Value::Object(extra.clone()))
                    }
                    _ => eprintln!("[{}] {}", log.level, log.message),
                }
            }
        }
        self.seen = self.seen.max(logs.len());
    }
}
