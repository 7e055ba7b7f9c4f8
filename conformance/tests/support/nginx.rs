//! Debian's nginx as a real reverse proxy in front of our workers: a
//! scratch directory with a generated configuration, started in the
//! foreground on loopback ports and stopped on drop; and a throwaway
//! certificate authority (made with the `openssl` command) for its TLS.
//!
//! Without nginx the tests that need it skip with a loud notice, unless
//! `VGI_REQUIRE_NGINX=1` (CI, which installs it), where they fail.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The nginx binary, or `None` after a loud skip notice (a panic when `VGI_REQUIRE_NGINX=1`).
pub fn nginx_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("nginx")).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = on_path.into_iter().chain([PathBuf::from("/usr/sbin/nginx")]).find(|p| p.is_file());
    if found.is_none() {
        let message = "nginx is not installed (apt-get install nginx)";
        if std::env::var("VGI_REQUIRE_NGINX").as_deref() == Ok("1") {
            panic!("VGI_REQUIRE_NGINX=1 but {message}");
        }
        eprintln!("\n!!!!!!!! SKIPPED: the nginx tests did not run: {message} !!!!!!!!\n");
    }
    found
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A fresh scratch directory for one test.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vgi-nginx-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// PEM files of a throwaway CA, a server certificate for `127.0.0.1` and
/// `localhost`, and a client certificate, all signed by that CA.
pub struct Certs {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Certs {
    /// Make them under `dir` with the `openssl` command.
    pub fn make(dir: &Path) -> Self {
        let p = |name: &str| dir.join(name);
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=vgi-rpc test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            path(&p("ca.key")),
            "-out",
            path(&p("ca.pem")),
        ]);
        let leaf = |name: &str, subject: &str, extensions: &str| {
            openssl(&[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                subject,
                "-keyout",
                path(&p(&format!("{name}.key"))),
                "-out",
                path(&p(&format!("{name}.csr"))),
            ]);
            std::fs::write(p(&format!("{name}.ext")), extensions).expect("extension file");
            openssl(&[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                path(&p(&format!("{name}.csr"))),
                "-CA",
                path(&p("ca.pem")),
                "-CAkey",
                path(&p("ca.key")),
                "-CAcreateserial",
                "-extfile",
                path(&p(&format!("{name}.ext"))),
                "-out",
                path(&p(&format!("{name}.pem"))),
            ]);
        };
        leaf(
            "server",
            "/CN=localhost",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        );
        leaf(
            "client",
            "/CN=vgi-test-client",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        );
        Self {
            ca: p("ca.pem"),
            server_cert: p("server.pem"),
            server_key: p("server.key"),
            client_cert: p("client.pem"),
            client_key: p("client.key"),
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 scratch path")
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A running nginx serving the `server { … }` blocks it was given.
pub struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    /// Start nginx in `dir` with `servers` (one or more `server` blocks)
    /// inside its `http` block, and wait until every port in `ports` accepts.
    pub fn start(binary: &Path, dir: &Path, servers: &str, ports: &[u16]) -> Self {
        let d = path(dir);
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
               client_max_body_size 0;\n{servers}\n}}\n"
        );
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config).expect("nginx.conf");
        let child = Command::new(binary)
            .args(["-p", d, "-c", path(&conf), "-e", &format!("{d}/error.log")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nginx");
        let mut nginx = Self { child, dir: dir.to_owned() };
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in ports {
            while TcpStream::connect(("127.0.0.1", *port)).is_err() {
                if let Ok(Some(status)) = nginx.child.try_wait() {
                    panic!("nginx exited ({status}): {}", nginx.error_log());
                }
                assert!(Instant::now() < deadline, "nginx did not listen on {port}: {}", nginx.error_log());
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        nginx
    }

    /// What nginx logged so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
