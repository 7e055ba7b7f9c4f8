//! Readers and writers that never ask the OS for more than 1 GiB per call.
//!
//! Some platforms reject or truncate single reads/writes at `INT_MAX`
//! bytes; payloads over 2 GiB must still move, so every syscall is clamped
//! and short counts loop (in `read_exact` / `write_all`).

use std::io::{self, IoSlice, Read, Write};

/// Largest byte count passed to one read or write syscall.
pub const MAX_IO_CHUNK: usize = 1 << 30;

/// A reader whose every `read` asks for at most [`MAX_IO_CHUNK`] bytes.
#[derive(Debug)]
pub struct ClampedReader<R>(pub R);

impl<R: Read> Read for ClampedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(MAX_IO_CHUNK);
        self.0.read(&mut buf[..n])
    }
}

/// A writer whose every `write` passes at most [`MAX_IO_CHUNK`] bytes.
#[derive(Debug)]
pub struct ClampedWriter<W>(pub W);

impl<W: Write> Write for ClampedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(MAX_IO_CHUNK);
        self.0.write(&buf[..n])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match bufs.iter().find(|b| !b.is_empty()) {
            Some(first) => self.write(first),
            None => Ok(0),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct CountingSink {
        calls: Vec<usize>,
    }

    impl Write for CountingSink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            // Accept at most 3 bytes per call to force short counts.
            let n = buf.len().min(3);
            self.calls.push(n);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_writes_loop_until_done() {
        let mut w = ClampedWriter(CountingSink { calls: vec![] });
        w.write_all(b"0123456789").unwrap();
        assert_eq!(w.0.calls.iter().sum::<usize>(), 10);
        assert!(w.0.calls.len() >= 4);
    }

    #[test]
    fn reads_pass_through() {
        let mut r = ClampedReader(&b"abcdef"[..]);
        let mut buf = [0u8; 6];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"abcdef");
    }
}
