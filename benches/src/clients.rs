//! One interface over the project's clients (pipe / socket `Client` and
//! `HttpClient`), so every transport runs the same benches.

use std::io::{Read, Write};

use arrow_array::RecordBatch;
use vgi_rpc::http::client::HttpClient;
use vgi_rpc::rpc::{CallError, Client, StreamOptions, UnaryResponse};

use crate::service::BENCHMARK_PROTOCOL as P;

/// An exchange step: one input batch in, one output batch out.
pub type ExchangeStep<'a> = dyn FnMut(&RecordBatch) -> Result<RecordBatch, CallError> + 'a;

/// What the benches do with a client.
pub trait BenchClient {
    /// A BenchmarkService unary call.
    fn unary(&mut self, method: &str, params: &RecordBatch) -> Result<UnaryResponse, CallError>;
    /// Run a producer to its end: (batches, rows).
    fn produce(&mut self, method: &str, params: &RecordBatch) -> Result<(usize, usize), CallError>;
    /// Open an exchange and hand `body` a step function until it returns.
    fn with_exchange(
        &mut self,
        method: &str,
        params: &RecordBatch,
        body: &mut dyn FnMut(&mut ExchangeStep<'_>),
    ) -> Result<(), CallError>;
}

fn count(
    mut next: impl FnMut() -> Result<Option<(RecordBatch, vgi_rpc::Metadata)>, CallError>,
) -> Result<(usize, usize), CallError> {
    let (mut batches, mut rows) = (0, 0);
    while let Some((batch, _)) = next()? {
        batches += 1;
        rows += batch.num_rows();
    }
    Ok((batches, rows))
}

impl<R: Read, W: Write> BenchClient for Client<R, W> {
    fn unary(&mut self, method: &str, params: &RecordBatch) -> Result<UnaryResponse, CallError> {
        self.call(P, method, params)
    }

    fn produce(&mut self, method: &str, params: &RecordBatch) -> Result<(usize, usize), CallError> {
        let mut session = self.producer(P, method, params, &StreamOptions::default())?;
        count(|| session.next_batch())
    }

    fn with_exchange(
        &mut self,
        method: &str,
        params: &RecordBatch,
        body: &mut dyn FnMut(&mut ExchangeStep<'_>),
    ) -> Result<(), CallError> {
        let mut session = self.exchange(P, method, params, &StreamOptions::default())?;
        let mut schema = None;
        body(&mut |input: &RecordBatch| {
            schema.get_or_insert_with(|| input.schema());
            session.exchange(input).map(|(out, _)| out)
        });
        match schema {
            Some(schema) => session.close(&schema),
            None => Ok(()),
        }
    }
}

impl BenchClient for HttpClient {
    fn unary(&mut self, method: &str, params: &RecordBatch) -> Result<UnaryResponse, CallError> {
        self.call(P, method, params)
    }

    fn produce(&mut self, method: &str, params: &RecordBatch) -> Result<(usize, usize), CallError> {
        let mut session = self.producer(P, method, params, &StreamOptions::default())?;
        count(|| session.next_batch())
    }

    fn with_exchange(
        &mut self,
        method: &str,
        params: &RecordBatch,
        body: &mut dyn FnMut(&mut ExchangeStep<'_>),
    ) -> Result<(), CallError> {
        let mut session = self.exchange(P, method, params, &StreamOptions::default())?;
        body(&mut |input: &RecordBatch| session.exchange(input).map(|(out, _)| out));
        session.close()
    }
}
