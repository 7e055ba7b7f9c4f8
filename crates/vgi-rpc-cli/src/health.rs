//! `vgi-rpc health`: over HTTP a `GET {prefix}/health`; over a pipe or a
//! socket a `list_protocols` round trip (a worker without reflection that
//! answers with an error still counts as up: it answered).

use std::io::Write;
use std::time::Instant;

use serde_json::{json, Value};

use crate::connect::Connection;
use crate::error::CliError;
use crate::output::Shape;

/// The most of a health body read.
const MAX_HEALTH_BODY: usize = 64 * 1024;

/// Probe the worker and write the report; an unhealthy worker is an error.
pub fn run(connection: &mut Connection, shape: Shape, out: &mut dyn Write) -> Result<(), CliError> {
    let started = Instant::now();
    let transport = connection.transport();
    let mut report = match connection {
        Connection::Http(client) => {
            let path = format!("{}/health", client.prefix());
            let (status, _, body) =
                client.get_raw(&path, MAX_HEALTH_BODY).map_err(|e| CliError::call(format!("GET {path}"), e))?;
            let text = String::from_utf8_lossy(&body).into_owned();
            if status != 200 {
                return Err(CliError::usage_hint(
                    format!("GET {path} answered HTTP {status}: {}", excerpt(&text)),
                    "check --url and --prefix (the health route sits under the prefix)",
                ));
            }
            let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
            json!({"status": "ok", "transport": transport, "http_status": status, "body": body})
        }
        other => match crate::reflect::list_protocols(other.client()) {
            Ok(list) => json!({
                "status": "ok",
                "transport": transport,
                "server_id": list.server_id,
                "server_version": list.server_version,
                "protocols": list.protocols.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
            }),
            Err(CliError::Usage { .. }) => {
                json!({"status": "ok", "transport": transport, "note": "the worker answered but hosts no reflection"})
            }
            Err(e) => return Err(e),
        },
    };
    let ms = (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
    report["latency_ms"] = json!(ms);
    let line = match shape {
        Shape::Json => report.to_string(),
        _ => {
            let detail = match (&report["body"], &report["server_id"]) {
                (Value::Null, Value::String(id)) => format!("server {id}"),
                (Value::Null, _) => report["note"].as_str().unwrap_or_default().to_owned(),
                (body, _) => body.to_string(),
            };
            format!("ok  {transport}  {ms} ms  {detail}")
        }
    };
    writeln!(out, "{line}").map_err(CliError::io("writing the output"))
}

fn excerpt(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() > 200 {
        format!("{}…", t.chars().take(200).collect::<String>())
    } else {
        t.to_owned()
    }
}
