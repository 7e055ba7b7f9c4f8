//! `shm_dump --name NAME --size SIZE`: attach to a VGIS segment and print
//! what this crate sees in its header as one JSON line:
//! `{"name", "size", "data_size", "num_allocs", "allocs": [[offset, length], ...]}`.
//! The reference's cross-language test (tests/test_shm_cross_language.py)
//! runs it against segments Python created.

use std::process::ExitCode;

use clap::Parser;
use serde_json::json;
use vgi_rpc_shm::{header, Segment};

#[derive(Debug, Parser)]
#[command(name = "shm_dump", about = "Print a vgi-rpc shared-memory segment's header as JSON")]
struct Args {
    /// Segment name (with or without the leading slash).
    #[arg(long)]
    name: String,
    /// Segment size the creator reports; the kernel's size is used, and a
    /// mismatch is an error.
    #[arg(long)]
    size: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let seg = match Segment::attach(&args.name) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("shm_dump: {e}");
            return ExitCode::from(1);
        }
    };
    if seg.size() != args.size {
        eprintln!("shm_dump: segment is {} bytes, --size says {}", seg.size(), args.size);
        return ExitCode::from(1);
    }
    let allocs = match header::allocations(seg.header()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("shm_dump: {e}");
            return ExitCode::from(1);
        }
    };
    let view = json!({
        "name": seg.name(),
        "size": seg.size(),
        "data_size": header::data_size(seg.header()),
        "num_allocs": allocs.len(),
        "allocs": allocs.iter().map(|&(o, l)| json!([o, l])).collect::<Vec<_>>(),
    });
    println!("{view}");
    ExitCode::SUCCESS
}
