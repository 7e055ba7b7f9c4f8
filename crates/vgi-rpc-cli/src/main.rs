//! `vgi-rpc`: look at and call a vgi-rpc service from the command line.
//!
//! * `describe`: the worker's protocols and methods (table or JSON);
//! * `call METHOD [NAME=VALUE ...] [--json OBJ]`: unary, producer and
//!   exchange methods, output as a table, JSON lines or Arrow IPC;
//! * `health`: HTTP `/health`, or a reflection round trip;
//! * `launcher status|clean`: warm workers the launcher recorded.
//!
//! The worker is reached with the project's own clients: `--cmd` (a
//! subprocess over its pipes), `--unix`, `--tcp` (vgi-rpc-stdio) or `--url`
//! (vgi-rpc-http). Nothing here speaks the protocol itself.

mod args;
mod call;
mod connect;
mod describe;
mod error;
mod health;
mod input;
mod launcher;
mod output;
mod params;
mod progress;
mod reflect;
mod suggest;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use connect::Connection;
use error::CliError;
use output::{destination, shape, Shape, Sink};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vgi-rpc: error: {e}");
            if let CliError::Call { source: vgi_rpc_core::CallError::Remote(remote), .. } = &e {
                if cli.verbose && !remote.traceback.is_empty() {
                    eprintln!("{}", remote.traceback.trim_end());
                }
            }
            if let Some(hint) = e.hint() {
                eprintln!("vgi-rpc: hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), CliError> {
    let output = cli.output.as_deref();
    let shape = shape(cli.format, output);
    match &cli.command {
        Command::Describe(args) => {
            if shape == Shape::Arrow {
                return Err(CliError::usage_hint(
                    "describe has no Arrow output",
                    "use --format table or --format json",
                ));
            }
            let mut connection = Connection::open(&cli.target, &cli.connect)?;
            let service = reflect::load(connection.client(), args.protocol.as_deref(), args.all)?;
            let mut out = destination(output)?;
            describe::write(&service, shape, &mut out)?;
            out.flush().map_err(CliError::io("writing the output"))?;
            drop(out);
            connection.close();
            Ok(())
        }
        Command::Call(args) => {
            let mut connection = Connection::open(&cli.target, &cli.connect)?;
            let service = reflect::load(connection.client(), args.protocol.as_deref(), false)?;
            let mut sink = Sink::open(shape, output)?;
            let settings = call::CallSettings { args, verbose: cli.verbose };
            call::run(connection.client(), &service, &settings, &mut sink)?;
            sink.finish()?;
            connection.close();
            Ok(())
        }
        Command::Health(_) => {
            let mut connection = Connection::open(&cli.target, &cli.connect)?;
            let mut out = destination(output)?;
            health::run(&mut connection, shape, &mut out)?;
            out.flush().map_err(CliError::io("writing the output"))?;
            drop(out);
            connection.close();
            Ok(())
        }
        Command::Launcher(args) => {
            let mut out = destination(output)?;
            launcher::run(args, shape, &mut out)?;
            out.flush().map_err(CliError::io("writing the output"))
        }
    }
}
