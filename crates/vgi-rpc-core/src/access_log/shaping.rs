//! What decides a record's final form: the per-call sampling decision
//! (errors always kept, keyed on the stream or request id so every record
//! of one stream shares its fate, the rate carried in-band) and the
//! per-record byte cap (claims shed first, then the sentinel form).

use serde_json::{Map, Value};

/// The always-required envelope fields, kept by the sentinel form.
const ENVELOPE: &[&str] = &[
    "timestamp",
    "level",
    "logger",
    "message",
    "server_id",
    "protocol",
    "protocol_hash",
    "method",
    "method_type",
    "principal",
    "auth_domain",
    "authenticated",
    "remote_addr",
    "duration_ms",
    "status",
    "error_type",
];

/// Extra fields the sentinel keeps: the full error message (never cut)
/// and what the schema requires of a stream record.
const SENTINEL_KEEPS: &[&str] = &["error_message", "error_code", "stream_id"];

fn is_error(record: &Map<String, Value>) -> bool {
    record.get("status").and_then(Value::as_str) == Some("error")
}

/// A stable number in `[0, 1)` for a call id (FNV-1a, the same in every
/// process, so sampling is reproducible across restarts and workers).
fn unit_interval(key: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Mix the high bits down: FNV's low bits are weak for short keys.
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 32;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether `record` is logged at `rate` (`0.0..=1.0`); a kept record gets
/// `sample_rate` when `rate < 1`. Errors are always kept.
pub(super) fn sample(record: &mut Map<String, Value>, rate: f64) -> bool {
    if rate >= 1.0 || is_error(record) {
        return true;
    }
    let key = record
        .get("stream_id")
        .and_then(Value::as_str)
        .or_else(|| record.get("request_id").and_then(Value::as_str))
        .unwrap_or("");
    let keep = unit_interval(key) < rate;
    if keep {
        record.insert("sample_rate".into(), Value::from(rate));
    }
    keep
}

/// Serialize `record` as one line (with its newline), within `cap` bytes
/// when one is set: first `claims` becomes `{}` (`truncated: true`), then
/// the sentinel form (`truncated: "record_too_large"`). The sentinel keeps
/// the full `error_message`, so it may still exceed the cap.
pub(super) fn to_line(mut record: Map<String, Value>, cap: Option<usize>) -> String {
    let line = |r: &Map<String, Value>| {
        let mut text = serde_json::to_string(r).unwrap_or_default();
        text.push('\n');
        text
    };
    let text = line(&record);
    let Some(cap) = cap else { return text };
    if text.len() <= cap {
        return text;
    }
    if record.get("claims").is_some_and(|c| c.as_object().is_none_or(|o| !o.is_empty())) {
        record.insert("claims".into(), Value::Object(Map::new()));
        record.insert("truncated".into(), Value::Bool(true));
        let text = line(&record);
        if text.len() <= cap {
            return text;
        }
    }
    let mut sentinel = Map::new();
    for key in ENVELOPE.iter().chain(SENTINEL_KEEPS) {
        if let Some(v) = record.remove(*key) {
            sentinel.insert((*key).to_owned(), v);
        }
    }
    sentinel.insert("truncated".into(), Value::from("record_too_large"));
    line(&sentinel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(status: &str, id: &str) -> Map<String, Value> {
        let Value::Object(m) = json!({
            "timestamp": "2026-01-01T00:00:00.000Z", "level": "INFO", "logger": "vgi_rpc.access",
            "message": "p.m ok", "server_id": "s", "protocol": "p", "protocol_hash": "h", "method": "m",
            "method_type": "unary", "principal": "", "auth_domain": "", "authenticated": false,
            "remote_addr": "", "duration_ms": 0.1, "status": status, "error_type": "",
            "request_id": id,
        }) else {
            unreachable!()
        };
        m
    }

    #[test]
    fn sampling_keeps_every_error_and_about_the_rate_of_the_rest() {
        let kept = (0..10_000).filter(|i| sample(&mut record("ok", &format!("req-{i}")), 0.25)).count();
        assert!((2_200..2_800).contains(&kept), "kept {kept} of 10000 at 0.25");
        assert!((0..1000).all(|i| sample(&mut record("error", &format!("e-{i}")), 0.0)));
        let mut kept_one = (0..100).map(|i| record("ok", &format!("k-{i}"))).find_map(|mut r| {
            let kept = sample(&mut r, 0.5);
            kept.then_some(r)
        });
        let r = kept_one.take().expect("some kept");
        assert_eq!(r["sample_rate"], json!(0.5));
    }

    #[test]
    fn the_decision_is_per_call_so_a_stream_keeps_or_drops_all_its_records() {
        for s in 0..200 {
            let id = format!("{s:032x}");
            let decisions: Vec<bool> = (0..5)
                .map(|turn| {
                    let mut r = record("ok", &format!("turn-{turn}"));
                    r.insert("stream_id".into(), id.clone().into());
                    sample(&mut r, 0.3)
                })
                .collect();
            assert!(decisions.iter().all(|d| *d == decisions[0]), "stream {id}: {decisions:?}");
        }
    }

    #[test]
    fn full_rate_adds_no_sample_rate() {
        let mut r = record("ok", "x");
        assert!(sample(&mut r, 1.0));
        assert!(!r.contains_key("sample_rate"));
    }

    #[test]
    fn the_cap_sheds_claims_first_then_falls_back_to_the_sentinel() {
        let mut r = record("ok", "x");
        r.insert("claims".into(), json!({"big": "x".repeat(2000)}));
        let small = to_line(r.clone(), Some(1000));
        let v: Value = serde_json::from_str(&small).expect("json");
        assert_eq!(v["truncated"], json!(true));
        assert_eq!(v["claims"], json!({}));
        assert!(small.len() <= 1000);

        r.insert("request_fields".into(), json!([{"name": "a".repeat(3000), "type": "Utf8"}]));
        let sentinel = to_line(r.clone(), Some(1000));
        let v: Value = serde_json::from_str(&sentinel).expect("json");
        assert_eq!(v["truncated"], json!("record_too_large"));
        assert!(v.get("request_fields").is_none() && v.get("claims").is_none());
        for key in ENVELOPE {
            assert!(v.get(*key).is_some(), "{key} kept");
        }
        assert!(to_line(r, None).len() > 3000, "no cap, no truncation");
    }

    #[test]
    fn the_sentinel_keeps_the_whole_error_message() {
        let mut r = record("error", "x");
        r.insert("error_message".into(), json!("e".repeat(5000)));
        r.insert("error_code".into(), json!("INTERNAL"));
        let line = to_line(r, Some(1000));
        let v: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["truncated"], json!("record_too_large"));
        assert_eq!(v["error_message"].as_str().map(str::len), Some(5000));
    }
}
