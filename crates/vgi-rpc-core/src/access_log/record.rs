//! Building one access-log record from what the core knows of a call:
//! the envelope, the caller, the outcome, the request's shape (field names
//! and types, row count; never a value) and the call statistics.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::{CallInfo, CallOutcome, MethodKind};

/// The record of one finished call: every field the core knows (the
/// transport adds its own, see [`super::TransportFacts`]).
pub fn build(server_version: &str, info: &CallInfo<'_>, outcome: &CallOutcome<'_>) -> Map<String, Value> {
    let method_type = match info.kind {
        None | Some(MethodKind::Unary) => "unary",
        Some(MethodKind::Producer | MethodKind::Exchange) => "stream",
    };
    let status = if outcome.error.is_some() { "error" } else { "ok" };
    let duration_ms = (outcome.duration.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    let mut r = Map::new();
    r.insert("timestamp".into(), rfc3339_millis(outcome.finished_at).into());
    r.insert("level".into(), "INFO".into());
    r.insert("logger".into(), "vgi_rpc.access".into());
    r.insert("message".into(), format!("{}.{} {status}", info.protocol, info.method).into());
    r.insert("server_id".into(), info.server_id.into());
    r.insert("server_version".into(), server_version.into());
    r.insert("protocol".into(), info.protocol.into());
    r.insert("protocol_hash".into(), info.protocol_hash.into());
    r.insert("method".into(), info.method.into());
    r.insert("method_type".into(), method_type.into());
    r.insert("principal".into(), info.auth.principal.clone().into());
    r.insert("auth_domain".into(), info.auth.domain.clone().into());
    r.insert("authenticated".into(), info.auth.authenticated.into());
    if !info.auth.claims.is_empty() {
        r.insert("claims".into(), json!(info.auth.claims));
    }
    r.insert("remote_addr".into(), info.remote_addr.unwrap_or("").into());
    r.insert("request_id".into(), info.request_id.into());
    r.insert("duration_ms".into(), json!(duration_ms));
    r.insert("status".into(), status.into());
    match outcome.error {
        Some(err) => {
            r.insert("error_type".into(), err.error_type.clone().into());
            let message = if err.message.is_empty() { err.error_type.clone() } else { err.message.clone() };
            r.insert("error_message".into(), message.into());
            r.insert("error_code".into(), err.code.as_str().into());
        }
        None => {
            r.insert("error_type".into(), "".into());
        }
    }
    if let Some(id) = info.stream_id {
        r.insert("stream_id".into(), id.into());
    }
    if let Some(session) = &outcome.session {
        r.insert("session_action".into(), session.action.as_str().into());
        if let Some(id) = &session.session_id {
            r.insert("session_id".into(), id.clone().into());
        }
    }
    if outcome.cancelled {
        r.insert("cancelled".into(), true.into());
    }
    if info.is_init {
        let fields: Vec<Value> = info
            .request_schema
            .map(|s| s.fields().iter().map(|f| json!({"name": f.name(), "type": f.data_type().to_string()})).collect())
            .unwrap_or_default();
        r.insert("request_fields".into(), Value::Array(fields));
        r.insert("request_rows".into(), json!(info.request_rows));
    }
    let s = outcome.stats;
    r.insert("input_batches".into(), json!(s.input_batches));
    r.insert("output_batches".into(), json!(s.output_batches));
    r.insert("input_rows".into(), json!(s.input_rows));
    r.insert("output_rows".into(), json!(s.output_rows));
    r.insert("input_bytes".into(), json!(s.input_bytes));
    r.insert("output_bytes".into(), json!(s.output_bytes));
    r
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ` for a UTC instant.
pub fn rfc3339_millis(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Proleptic Gregorian date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The bytes the call moved besides its batches (`request_state_bytes`,
/// `response_state_bytes`, `externalized_bytes`), each only when some moved.
pub(crate) fn add_transfer(record: &mut Map<String, Value>, moved: crate::transfer::TransferBytes) {
    let fields = [
        ("request_state_bytes", moved.request_state_bytes),
        ("response_state_bytes", moved.response_state_bytes),
        ("externalized_bytes", moved.externalized_bytes),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            record.insert(name.into(), Value::from(v));
        }
    }
}

/// `trace_id` and `span_id` of the span current as the call ends (both or
/// neither), from its W3C `traceparent`; a malformed or all-zero one adds
/// nothing.
pub(crate) fn add_trace(record: &mut Map<String, Value>, traceparent: &str) {
    let mut parts = traceparent.split('-');
    let (Some(version), Some(trace), Some(span), Some(_flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let lower_hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && s.bytes().any(|b| b != b'0')
    };
    if version.len() != 2 || version == "ff" || !lower_hex(trace, 32) || !lower_hex(span, 16) {
        return;
    }
    record.insert("trace_id".into(), trace.into());
    record.insert("span_id".into(), span.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc_millis() {
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_777_217_445_123);
        assert_eq!(rfc3339_millis(t), "2026-04-26T15:30:45.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339_millis(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn trace_ids_come_from_a_well_formed_traceparent_only() {
        let mut r = Map::new();
        add_trace(&mut r, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert_eq!(r["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(r["span_id"], "00f067aa0ba902b7");
        for bad in [
            "",
            "00-not-a-trace-context",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            let mut r = Map::new();
            add_trace(&mut r, bad);
            assert!(r.is_empty(), "{bad:?} gave {r:?}");
        }
    }
}
