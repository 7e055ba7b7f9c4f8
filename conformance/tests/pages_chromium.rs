//! The human pages in a real browser: the conformance worker over HTTP,
//! headless Chromium (Debian's `chromium`) loading the landing page, the
//! API reference and a 404 at desktop (1280x900) and phone (390x844)
//! widths. Fails on any console message (the pages run no scripts, so
//! every one is an error or a Content-Security-Policy violation), checks
//! each page's DOM, and saves the screenshots under `docs/screenshots/`.
//!
//! Without `/usr/bin/chromium` (or `$VGI_CHROMIUM`) the test says so and
//! passes; with `VGI_REQUIRE_CHROMIUM=1` it fails instead.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;
use vgi_rpc_conformance::{build_server, ConformanceOptions};

const REPO_URL: &str = "https://example.com/vgi-rpc-rust";
const VIEWPORTS: [(&str, u32, u32); 2] = [("desktop", 1280, 900), ("phone", 390, 844)];

fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var("VGI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("VGI_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
        panic!("VGI_REQUIRE_CHROMIUM=1 but {} is missing (apt-get install chromium)", path.display());
    }
    eprintln!("\n*** SKIPPED pages_chromium: {} not found (apt-get install chromium) ***\n", path.display());
    None
}

/// One headless run: stdout, and the console messages Chromium logged.
struct Run {
    stdout: String,
    console: Vec<String>,
}

fn run_chromium(chromium: &Path, profile: &Path, extra: &[String], url: &str) -> Run {
    let mut child = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish {url} within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    let console = stderr.lines().filter(|l| l.contains(":CONSOLE")).map(str::to_owned).collect();
    Run { stdout, console }
}

/// The console check must see a console error and a CSP violation, or a
/// clean page proves nothing.
fn assert_console_is_observed(chromium: &Path, profile: &Path) {
    let canary = "data:text/html,<meta http-equiv=\"Content-Security-Policy\" content=\"style-src 'none'\">\
                  <style>b{}</style><script>console.error('vgi-canary')</script><p>canary";
    let run = run_chromium(chromium, profile, &["--dump-dom".to_owned()], canary);
    assert!(run.stdout.contains("canary"), "the canary page did not load: {}", run.stdout);
    assert!(run.console.iter().any(|l| l.contains("vgi-canary")), "console.error not observed: {:?}", run.console);
    assert!(
        run.console.iter().any(|l| l.contains("Content Security Policy")),
        "CSP violation not observed: {:?}",
        run.console
    );
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&dir).expect("docs/screenshots");
    dir
}

#[test]
fn landing_describe_and_404_render_cleanly_at_desktop_and_phone_widths() {
    let Some(chromium) = chromium() else { return };
    let scratch = std::env::temp_dir().join(format!("vgi-pages-chromium-{}", std::process::id()));
    let profile = scratch.join("profile");
    std::fs::create_dir_all(&profile).expect("profile dir");
    assert_console_is_observed(&chromium, &profile);

    let worker = Worker::start(
        &["--http", "0", "--describe", "--server-id", "pages-test", "--repo-url", REPO_URL],
        "PORT:",
        None,
    );
    let base = format!("http://127.0.0.1:{}", worker.address);
    let server = build_server(&ConformanceOptions { describe: true, ..ConformanceOptions::default() }).expect("server");

    let pages = [("landing", "/"), ("describe", "/describe"), ("404", "/no/such/page")];
    for (name, path) in pages {
        let url = format!("{base}{path}");
        let dom = run_chromium(&chromium, &profile, &["--dump-dom".to_owned()], &url);
        assert!(dom.console.is_empty(), "{name}: console messages: {:#?}", dom.console);
        let html = dom.stdout;
        assert!(html.contains("<title>") && html.contains("ConformanceService"), "{name}: {html}");
        match name {
            "landing" => {
                for want in ["href=\"/describe\"", "href=\"/health\"", &format!("href=\"{REPO_URL}\""), "pages-test"] {
                    assert!(html.contains(want), "landing lacks {want}");
                }
                for protocol in server.protocols() {
                    assert!(html.contains(protocol.name()), "landing lacks protocol {}", protocol.name());
                }
            }
            "describe" => {
                let mut count = 0;
                for protocol in server.protocols() {
                    for method in protocol.method_defs() {
                        let heading = format!("<h3 class=\"method\">{}</h3>", method.name());
                        assert!(html.contains(&heading), "describe lacks {}.{}", protocol.name(), method.name());
                        count += 1;
                    }
                }
                assert!(count > 20, "only {count} methods");
                for badge in ["unary</span>", "producer</span>", "exchange</span>", "header</span>"] {
                    assert!(html.contains(badge), "describe lacks the {badge} badge");
                }
                assert!(html.contains("Default") && html.contains("Stream header") && html.contains("Returns"));
            }
            _ => {
                assert!(html.contains("Not found") && html.contains("/no/such/page"), "404: {html}");
            }
        }
        for (label, width, height) in VIEWPORTS {
            let file = screenshots_dir().join(format!("pages-{name}-{label}.png"));
            let _ = std::fs::remove_file(&file);
            let shot = run_chromium(
                &chromium,
                &profile,
                &[format!("--window-size={width},{height}"), format!("--screenshot={}", file.display())],
                &url,
            );
            assert!(shot.console.is_empty(), "{name} at {label}: console messages: {:#?}", shot.console);
            let png = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", file.display());
            // The IHDR chunk carries the width and height the viewport was given.
            let (w, h) = (
                u32::from_be_bytes(png[16..20].try_into().unwrap()),
                u32::from_be_bytes(png[20..24].try_into().unwrap()),
            );
            assert_eq!((w, h), (width, height), "{} size", file.display());
            // A blank viewport compresses to about 5 KB; a rendered page does not.
            assert!(png.len() > 12_000, "{} looks blank ({} bytes)", file.display(), png.len());
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
