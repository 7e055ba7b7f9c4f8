//! Shared by the facade's integration tests: a server on a worker thread,
//! reached through a pair of OS pipes.

use std::io::{BufReader, BufWriter, PipeReader, PipeWriter};
use std::thread::JoinHandle;

use vgi_rpc::rpc::{serve_connection, ConnectionInfo};
use vgi_rpc::wire::WireError;
use vgi_rpc::{Client, Server};

/// A client whose requests reach a [`serve_on_pipe`] worker.
pub type PipeClient = Client<BufReader<PipeReader>, BufWriter<PipeWriter>>;

/// Serve `server` on a new thread over a pair of pipes; the thread ends
/// when the client is dropped (EOF) and returns how the connection ended.
pub fn serve_on_pipe(server: Server) -> (PipeClient, JoinHandle<Result<(), WireError>>) {
    let (server_in, client_out) = std::io::pipe().expect("pipe");
    let (client_in, server_out) = std::io::pipe().expect("pipe");
    let worker = std::thread::spawn(move || {
        serve_connection(
            &server,
            &mut BufReader::new(server_in),
            &mut BufWriter::new(server_out),
            &ConnectionInfo::default(),
        )
    });
    (Client::new(BufReader::new(client_in), BufWriter::new(client_out)), worker)
}
