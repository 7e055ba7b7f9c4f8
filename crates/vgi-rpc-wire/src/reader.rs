//! Reading Arrow IPC streams message by message, with per-batch custom metadata.
//!
//! Every length prefix is checked against [`ReadLimits`] before a buffer is
//! allocated, and decoding failures (including panics inside the Arrow
//! decoder on hostile input) become [`WireError`]s.

use std::collections::HashMap;
use std::io::{ErrorKind, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_buffer::{Buffer, MutableBuffer};
use arrow_ipc::reader::{read_dictionary, RecordBatchDecoder};
use arrow_ipc::{Message, MessageHeader};
use arrow_schema::{Schema, SchemaRef};

use crate::limits::HEADER_PREALLOC_BYTES;
use crate::{Metadata, ReadLimits, WireError};

/// One record batch read off the wire with its custom metadata.
#[derive(Debug, Clone)]
pub struct ReadBatch {
    /// The decoded batch.
    pub batch: RecordBatch,
    /// The message's custom metadata (empty when none was sent).
    pub metadata: Metadata,
}

/// A reader positioned inside one IPC stream (after its schema message).
///
/// It holds no reference to the byte source, so the same connection object
/// can be written to between reads.
#[derive(Debug)]
pub struct StreamReader {
    schema: SchemaRef,
    dictionaries: HashMap<i64, ArrayRef>,
    limits: ReadLimits,
    finished: bool,
    meta_buf: Vec<u8>,
}

/// Outcome of reading the start of a stream.
pub enum Opened {
    /// The byte source ended cleanly before any byte of a new stream.
    Eof,
    /// A schema message was read.
    Stream(StreamReader),
}

impl StreamReader {
    /// Read a stream's schema message. Returns [`Opened::Eof`] when the
    /// source is at a clean end (no bytes at all).
    pub fn open<R: Read + ?Sized>(r: &mut R, limits: ReadLimits) -> Result<Opened, WireError> {
        Self::open_cached(r, limits, &mut SchemaCache::default())
    }

    /// Like [`StreamReader::open`], reusing the decoded schema when the
    /// schema message is byte-for-byte the one `cache` saw last (a
    /// connection repeating the same call skips schema decoding).
    pub fn open_cached<R: Read + ?Sized>(
        r: &mut R,
        limits: ReadLimits,
        cache: &mut SchemaCache,
    ) -> Result<Opened, WireError> {
        let mut meta_buf = Vec::new();
        let Some(len) = read_prefix(r, true)? else {
            return Ok(Opened::Eof);
        };
        if len == 0 {
            return Err(WireError::Malformed("stream ended before its schema message".into()));
        }
        read_metadata(r, len, &limits, &mut meta_buf)?;
        let schema = match &cache.last {
            Some((bytes, schema)) if *bytes == meta_buf => schema.clone(),
            _ => {
                let schema = Arc::new(decode_schema_message(r, &mut meta_buf, &limits)?);
                cache.last = Some((meta_buf.clone(), schema.clone()));
                schema
            }
        };
        Ok(Opened::Stream(StreamReader { schema, dictionaries: HashMap::new(), limits, finished: false, meta_buf }))
    }

    /// Like [`StreamReader::open`] but treats a clean end of input as an error.
    pub fn open_required<R: Read + ?Sized>(r: &mut R, limits: ReadLimits) -> Result<Self, WireError> {
        match Self::open(r, limits)? {
            Opened::Stream(s) => Ok(s),
            Opened::Eof => {
                Err(WireError::Io(std::io::Error::new(ErrorKind::UnexpectedEof, "the peer closed the connection")))
            }
        }
    }

    /// The stream's schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Whether the EOS marker has been read.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Read the next record batch, or `None` at the EOS marker.
    pub fn next<R: Read + ?Sized>(&mut self, r: &mut R) -> Result<Option<ReadBatch>, WireError> {
        self.next_with(r, read_body)
    }

    /// Like [`StreamReader::next`] over a stream held in memory: message
    /// bodies become slices of the cursor's buffer, not copies.
    pub fn next_in(&mut self, cursor: &mut BufferCursor) -> Result<Option<ReadBatch>, WireError> {
        self.next_with(cursor, |c, len, limits| c.take_body(len, limits))
    }

    fn next_with<R: Read + ?Sized>(
        &mut self,
        r: &mut R,
        body_of: impl Fn(&mut R, i64, &ReadLimits) -> Result<Buffer, WireError>,
    ) -> Result<Option<ReadBatch>, WireError> {
        if self.finished {
            return Ok(None);
        }
        loop {
            let len = match read_prefix(r, false)? {
                Some(len) => len,
                None => return Err(WireError::Truncated("stream ended without an EOS marker".into())),
            };
            if len == 0 {
                self.finished = true;
                return Ok(None);
            }
            read_metadata(r, len, &self.limits, &mut self.meta_buf)?;
            let (message, lossy) = verified_message(&mut self.meta_buf)?;
            let body = body_of(r, message.bodyLength(), &self.limits)?;
            let version = message.version();
            match message.header_type() {
                MessageHeader::RecordBatch => {
                    let fb = message
                        .header_as_record_batch()
                        .ok_or_else(|| WireError::Malformed("record batch message without a header".into()))?;
                    let mut metadata = custom_metadata(&message);
                    metadata.set_lossy(lossy);
                    let schema = self.schema.clone();
                    let dictionaries = &self.dictionaries;
                    let batch = guard(|| {
                        RecordBatchDecoder::try_new(&body, fb, schema, dictionaries, &version)
                            .and_then(|d| d.with_require_alignment(false).read_record_batch())
                            .map_err(|e| WireError::Decode(e.to_string()))
                    })?;
                    return Ok(Some(ReadBatch { batch, metadata }));
                }
                MessageHeader::DictionaryBatch => {
                    let fb = message
                        .header_as_dictionary_batch()
                        .ok_or_else(|| WireError::Malformed("dictionary message without a header".into()))?;
                    let schema = &self.schema;
                    let dictionaries = &mut self.dictionaries;
                    guard(|| {
                        read_dictionary(&body, fb, schema, dictionaries, &version)
                            .map_err(|e| WireError::Decode(e.to_string()))
                    })?;
                }
                other => {
                    return Err(WireError::Malformed(format!("unexpected {other:?} message inside a stream")));
                }
            }
        }
    }

    /// Read and discard the rest of the stream up to and including EOS.
    pub fn drain<R: Read + ?Sized>(&mut self, r: &mut R) -> Result<(), WireError> {
        while self.next(r)?.is_some() {}
        Ok(())
    }
}

/// A stream (or several, back to back) held in one Arrow buffer, read
/// without copying message bodies ([`StreamReader::next_in`]).
#[derive(Debug, Clone)]
pub struct BufferCursor {
    buf: Buffer,
    pos: usize,
}

impl BufferCursor {
    /// A cursor at the start of `buf`.
    pub fn new(buf: Buffer) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take_body(&mut self, len: i64, limits: &ReadLimits) -> Result<Buffer, WireError> {
        let len = check_body_len(len, limits)?;
        if len > self.remaining() {
            return Err(WireError::Truncated(format!("expected {len} body bytes, got {}", self.remaining())));
        }
        let body = self.buf.slice_with_length(self.pos, len);
        self.pos += len;
        Ok(body)
    }
}

impl Read for BufferCursor {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = out.len().min(self.remaining());
        out[..n].copy_from_slice(&self.buf.as_slice()[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The last schema message a connection read, with its decoded schema.
#[derive(Debug, Default)]
pub struct SchemaCache {
    last: Option<(Vec<u8>, SchemaRef)>,
}

/// Verify and decode a schema message held in `meta_buf`.
fn decode_schema_message<R: Read + ?Sized>(
    r: &mut R,
    meta_buf: &mut [u8],
    limits: &ReadLimits,
) -> Result<Schema, WireError> {
    let (message, _) = verified_message(meta_buf)?;
    match message.header_type() {
        MessageHeader::Schema => {
            let fb = message
                .header_as_schema()
                .ok_or_else(|| WireError::Malformed("schema message without a schema".into()))?;
            let schema = guard(|| arrow_ipc::convert::try_fb_to_schema(fb).map_err(WireError::from))?;
            if message.bodyLength() != 0 {
                skip_body(r, message.bodyLength(), limits)?;
            }
            Ok(schema)
        }
        other => Err(WireError::Malformed(format!("expected a schema message to start the stream, got {other:?}"))),
    }
}

/// Decode a schema from `pa.Schema.serialize()`-style bytes (a framed schema
/// message, optionally followed by EOS).
pub fn decode_schema_bytes(bytes: &[u8]) -> Result<Schema, WireError> {
    let mut cursor = bytes;
    match StreamReader::open(&mut cursor, ReadLimits::default())? {
        Opened::Stream(s) => Ok(s.schema.as_ref().clone()),
        Opened::Eof => Err(WireError::Malformed("empty schema bytes".into())),
    }
}

/// Decode a complete IPC stream held in memory into its schema and batches.
pub fn read_stream_bytes(bytes: &[u8]) -> Result<(SchemaRef, Vec<ReadBatch>), WireError> {
    let mut cursor = bytes;
    let mut reader = StreamReader::open_required(&mut cursor, ReadLimits::default())?;
    let mut batches = Vec::new();
    while let Some(b) = reader.next(&mut cursor)? {
        batches.push(b);
    }
    Ok((reader.schema.clone(), batches))
}

fn guard<T>(f: impl FnOnce() -> Result<T, WireError>) -> Result<T, WireError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(_) => Err(WireError::Decode("the Arrow decoder rejected the message".into())),
    }
}

/// Read a message length prefix. `Ok(None)` is a clean EOF before the first
/// byte (only allowed when `eof_ok`); `Ok(Some(0))` is the EOS marker.
fn read_prefix<R: Read + ?Sized>(r: &mut R, eof_ok: bool) -> Result<Option<usize>, WireError> {
    let mut word = [0u8; 4];
    let got = read_fully(r, &mut word)?;
    if got == 0 {
        return if eof_ok { Ok(None) } else { Err(WireError::Truncated("no message where one was expected".into())) };
    }
    if got < 4 {
        return Err(WireError::Truncated("partial message length prefix".into()));
    }
    if word == [0xFF; 4] && read_fully(r, &mut word)? < 4 {
        return Err(WireError::Truncated("partial message length prefix".into()));
    }
    let len = i32::from_le_bytes(word);
    if len < 0 {
        return Err(WireError::Malformed(format!("negative message length {len}")));
    }
    Ok(Some(len as usize))
}

/// `read_exact` that reports how many bytes it got before EOF instead of failing.
fn read_fully<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> Result<usize, WireError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}

fn read_metadata<R: Read + ?Sized>(
    r: &mut R,
    len: usize,
    limits: &ReadLimits,
    buf: &mut Vec<u8>,
) -> Result<(), WireError> {
    if len > limits.max_metadata_bytes {
        return Err(WireError::LimitExceeded {
            what: "metadata",
            size: len as u64,
            limit: limits.max_metadata_bytes as u64,
        });
    }
    // Grow as bytes arrive: a prefix declaring a large header costs at most
    // a small reservation until the peer actually sends that much.
    buf.clear();
    buf.reserve(len.min(HEADER_PREALLOC_BYTES.min(limits.prealloc_bytes).max(1)));
    let got = r.take(len as u64).read_to_end(buf)?;
    if got < len {
        return Err(WireError::Truncated(format!("expected {len} metadata bytes, got {got}")));
    }
    Ok(())
}

/// Verify `buf` as a `Message` (repairing non-UTF-8 strings, see
/// [`sanitize_strings`]) and return it with whether a repair happened.
fn verified_message(buf: &mut [u8]) -> Result<(Message<'_>, bool), WireError> {
    let lossy = sanitize_strings(buf)?;
    // SAFETY: `sanitize_strings` returned Ok only after `root_as_message`
    // verified exactly these bytes, and nothing has modified them since.
    let message = unsafe { arrow_ipc::root_as_message_unchecked(buf) };
    Ok((message, lossy))
}

/// Make every flatbuffer string in `buf` valid UTF-8 so the message verifies.
///
/// Arrow custom metadata values are bytes to some peers (pyarrow accepts any),
/// while the flatbuffer verifier requires UTF-8 strings. Each invalid byte of
/// a string the verifier names is replaced by `?` in place (lengths and
/// offsets unchanged). Returns whether anything was replaced.
/// Most invalid strings repaired in one message before it is refused.
const MAX_REPAIRED_STRINGS: usize = 64;

fn sanitize_strings(buf: &mut [u8]) -> Result<bool, WireError> {
    let mut replaced = false;
    // Each repair re-verifies the whole message, so the count is kept small:
    // peers that send byte metadata repair a few strings, never thousands.
    for _ in 0..MAX_REPAIRED_STRINGS {
        match arrow_ipc::root_as_message(buf) {
            Ok(_) => return Ok(replaced),
            Err(flatbuffers::InvalidFlatbuffer::Utf8Error { range, .. }) if range.end <= buf.len() => {
                replace_invalid_utf8(&mut buf[range]);
                replaced = true;
            }
            Err(e) => return Err(WireError::Malformed(format!("invalid message flatbuffer: {e}"))),
        }
    }
    Err(WireError::Malformed("too many invalid strings in message metadata".into()))
}

fn replace_invalid_utf8(bytes: &mut [u8]) {
    let mut start = 0;
    while start < bytes.len() {
        match std::str::from_utf8(&bytes[start..]) {
            Ok(_) => return,
            Err(e) => {
                let bad_at = start + e.valid_up_to();
                let bad_len = e.error_len().unwrap_or(bytes.len() - bad_at);
                for b in &mut bytes[bad_at..bad_at + bad_len] {
                    *b = b'?';
                }
                start = bad_at + bad_len;
            }
        }
    }
}

fn check_body_len(len: i64, limits: &ReadLimits) -> Result<usize, WireError> {
    if len < 0 {
        return Err(WireError::Malformed(format!("negative body length {len}")));
    }
    if len as u64 > limits.max_body_bytes {
        return Err(WireError::LimitExceeded { what: "body", size: len as u64, limit: limits.max_body_bytes });
    }
    usize::try_from(len).map_err(|_| WireError::Malformed(format!("body length {len} does not fit in memory")))
}

fn read_body<R: Read + ?Sized>(r: &mut R, len: i64, limits: &ReadLimits) -> Result<Buffer, WireError> {
    let len = check_body_len(len, limits)?;
    if len == 0 {
        return Ok(Buffer::from(MutableBuffer::new(0)));
    }
    // Reserve what the peer promised, up to the preallocation cap (beyond it
    // the buffer grows only as bytes actually arrive), and read straight into
    // the spare capacity: no zero-filling, and the Vec becomes the Arrow
    // buffer without a copy.
    let mut body = Vec::with_capacity(len.min(limits.prealloc_bytes.max(1)));
    let got = r.take(len as u64).read_to_end(&mut body)?;
    if got < len {
        return Err(WireError::Truncated(format!("expected {len} body bytes, got {got}")));
    }
    Ok(Buffer::from_vec(body))
}

fn skip_body<R: Read + ?Sized>(r: &mut R, len: i64, limits: &ReadLimits) -> Result<(), WireError> {
    let len = check_body_len(len, limits)? as u64;
    let copied = std::io::copy(&mut r.take(len), &mut std::io::sink())?;
    if copied < len {
        return Err(WireError::Truncated("schema message body".into()));
    }
    Ok(())
}

fn custom_metadata(message: &Message<'_>) -> Metadata {
    let Some(entries) = message.custom_metadata() else { return Metadata::new() };
    let text = entries.iter().map(|kv| kv.key().map_or(0, |k| k.len() + kv.value().unwrap_or_default().len())).sum();
    let mut out = Metadata::with_room(entries.len(), text);
    for kv in entries.iter() {
        if let Some(key) = kv.key() {
            out.push_raw(key, kv.value().unwrap_or_default());
        }
    }
    out
}
