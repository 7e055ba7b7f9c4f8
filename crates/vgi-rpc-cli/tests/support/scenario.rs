//! The checks every worker must pass, whatever the transport: describe
//! lists the conformance methods, unary calls with `k=v` and `--json`, a
//! producer's rows, an exchange's rows, a bad method name, health.

use super::{json_lines, ok, run_cli};

/// Run every check against the worker `target` names (e.g. `["--cmd", "..."]`).
pub fn check_worker(target: &[&str]) {
    let with = |rest: &[&str]| -> Vec<String> { target.iter().chain(rest).map(|s| s.to_string()).collect() };
    let run_ok = |rest: &[&str], stdin: Option<&str>| {
        let args = with(rest);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&refs, stdin)
    };

    // describe --format json: the conformance protocol with methods of each kind.
    let doc: serde_json::Value =
        serde_json::from_str(&run_ok(&["--format", "json", "describe"], None)).expect("describe JSON");
    let protocols = doc["protocols"].as_array().expect("protocols");
    let service =
        protocols.iter().find(|p| p["protocol"] == "ConformanceService").expect("ConformanceService described");
    let methods = service["methods"].as_array().expect("methods");
    let method = |name: &str| methods.iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("{name} listed"));
    assert_eq!(method("add_floats")["kind"], "unary");
    let params: Vec<(&str, &str)> = method("add_floats")["params"]
        .as_array()
        .expect("params")
        .iter()
        .map(|p| (p["name"].as_str().unwrap_or(""), p["type"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(params, [("a", "float64"), ("b", "float64")]);
    assert_eq!(method("echo_string")["kind"], "unary");
    assert_eq!(method("produce_n")["kind"], "producer");
    assert_eq!(method("exchange_scale")["kind"], "exchange");
    assert!(methods.len() > 20, "only {} methods", methods.len());

    // describe as a table names the methods too.
    let table = run_ok(&["--format", "table", "describe"], None);
    assert!(table.contains("ConformanceService"), "{table}");
    assert!(table.lines().any(|l| l.contains("add_floats") && l.contains("a: float64, b: float64")), "{table}");

    // Unary with k=v and with --json.
    let out = json_lines(&run_ok(&["-f", "json", "call", "add_floats", "a=1.5", "b=2.25"], None));
    assert_eq!(out, [serde_json::json!({"result": 3.75})]);
    let out = json_lines(&run_ok(&["-f", "json", "call", "add_floats", "--json", r#"{"a": 1, "b": 2.5}"#], None));
    assert_eq!(out, [serde_json::json!({"result": 3.5})]);
    let out = json_lines(&run_ok(&["-f", "json", "call", "echo_string", "value=hello world"], None));
    assert_eq!(out, [serde_json::json!({"result": "hello world"})]);

    // A producer: produce_n count=5 yields five rows, in order.
    let out = json_lines(&run_ok(&["-f", "json", "call", "produce_n", "count=5"], None));
    assert_eq!(out.len(), 5, "{out:?}");
    let indexes: Vec<i64> = out.iter().map(|r| r["index"].as_i64().expect("index")).collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4]);

    // An exchange: every input line comes back, scaled.
    let out = json_lines(&run_ok(
        &["-f", "json", "call", "exchange_scale", "factor=2"],
        Some("{\"value\": 1.5}\n{\"value\": 4.0}\n{\"value\": -0.25}\n"),
    ));
    let values: Vec<f64> = out.iter().map(|r| r["value"].as_f64().expect("value")).collect();
    assert_eq!(values, [3.0, 8.0, -0.5]);

    // A mistyped method fails, says so, and names the close one.
    let args = with(&["call", "add_flaots", "a=1", "b=2"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let bad = run_cli(&refs, None);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("unknown method \"add_flaots\""), "{stderr}");
    assert!(stderr.contains("did you mean add_floats"), "{stderr}");

    // A bad value names the expected type.
    let args = with(&["call", "add_floats", "a=one", "b=2"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let bad = run_cli(&refs, None);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("parameter \"a\" expects a number (float64), got \"one\""), "{stderr}");

    // Health.
    let health = json_lines(&run_ok(&["-f", "json", "health"], None));
    assert_eq!(health.len(), 1);
    assert_eq!(health[0]["status"], "ok", "{health:?}");
}
