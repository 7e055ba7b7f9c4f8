//! The backend's own tokio runtime. `object_store` is async while
//! [`ExternalStorage`](vgi_rpc_core::ExternalStorage) is sync, so every
//! storage operation is spawned onto this runtime's workers and the calling
//! thread waits on a plain channel for its result. Nothing here calls
//! `block_on`, so callers may be plain threads, blocking-pool threads, or a
//! runtime worker inside `block_in_place` (the HTTP server's dispatch).

use std::future::Future;
use std::sync::mpsc::{sync_channel, Receiver};

use tokio::runtime::{Builder, Handle, Runtime};
use vgi_rpc_core::external::StorageError;

/// Worker threads of the storage runtime: enough to keep a few part
/// uploads and a signing call moving while the caller encodes.
const WORKERS: usize = 2;

/// An owned multi-threaded runtime, shut down in the background when
/// dropped (dropping a runtime normally blocks, which panics inside another
/// runtime's async context).
pub(crate) struct Background {
    runtime: Option<Runtime>,
    handle: Handle,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background").finish_non_exhaustive()
    }
}

/// The result of a spawned operation, awaited with [`Pending::wait`].
pub(crate) struct Pending<T>(Receiver<T>);

impl<T> Pending<T> {
    /// Block this thread until the operation finishes.
    pub(crate) fn wait(self) -> Result<T, StorageError> {
        self.0.recv().map_err(|_| StorageError("the storage runtime stopped before the operation finished".into()))
    }
}

impl Background {
    /// Start the runtime's worker threads.
    pub(crate) fn new() -> Result<Self, StorageError> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("vgi-rpc-storage")
            .enable_all()
            .build()
            .map_err(|e| StorageError(format!("cannot start the storage runtime: {e}")))?;
        let handle = runtime.handle().clone();
        Ok(Self { runtime: Some(runtime), handle })
    }

    /// A handle for spawning (kept by upload sinks).
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Run `future` on the runtime and wait for its output on this thread.
    #[cfg_attr(not(feature = "cloud"), allow(dead_code))]
    pub(crate) fn run<T, F>(&self, future: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        spawn(&self.handle, future).wait()
    }
}

/// Start `future` on `handle`; its output arrives through the returned [`Pending`].
pub(crate) fn spawn<T, F>(handle: &Handle, future: F) -> Pending<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let (tx, rx) = sync_channel(1);
    handle.spawn(async move {
        // The waiter may have given up (a dropped sink); nothing to report then.
        let _ = tx.send(future.await);
    });
    Pending(rx)
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_from_a_plain_thread() {
        let bg = Background::new().unwrap();
        assert_eq!(bg.run(async { 7 }).unwrap(), 7);
    }

    #[test]
    fn runs_from_inside_another_runtime_and_drops_there() {
        let outer = Builder::new_multi_thread().worker_threads(1).build().unwrap();
        let got = outer.block_on(async {
            tokio::task::block_in_place(|| {
                let bg = Background::new().unwrap();
                let v = bg.run(async { 5 }).unwrap();
                drop(bg);
                v
            })
        });
        assert_eq!(got, 5);
        // Dropped on a runtime worker outside block_in_place: no panic.
        let bg = Background::new().unwrap();
        outer.block_on(async move { drop(bg) });
    }
}
