//! Servers a test owns: a PostgreSQL or Redis instance on a free port, started from the
//! binaries `scripts/services` found, which the test may stop, kill and restart without
//! touching the shared instances the other tests use. Dropping one stops it and removes
//! its data.
//!
//! These helpers block (they run `initdb`, `pg_ctl`, wait for a port): call them from
//! `magpie::task::spawn_blocking`, or before the runtime starts.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::service_env;

/// A free loopback port (bound and released; good enough for a test server).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Waits until something accepts on `addr`, up to 30 s.
fn wait_listening(addr: SocketAddr) {
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no server came up on {addr}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A PostgreSQL server of the test's own, in its own data directory, trust auth.
#[derive(Debug)]
pub struct PgInstance {
    bin: PathBuf,
    data: PathBuf,
    run_as: String,
    port: u16,
}

impl PgInstance {
    /// `initdb` and start a server on a free port (user `postgres`, trust auth).
    pub fn start() -> PgInstance {
        let port = free_port();
        let data = PathBuf::from(service_env("MAGPIE_SCRATCH"))
            .join(format!("pg-own-{}-{port}", std::process::id()));
        let pg = PgInstance {
            bin: PathBuf::from(service_env("MAGPIE_PG_BIN")),
            data,
            run_as: service_env("MAGPIE_PG_RUN_AS"),
            port,
        };
        let data = pg.data.display().to_string();
        pg.tool("initdb", &["-D", &data, "-A", "trust", "-U", "postgres"]);
        pg.start_again();
        pg
    }

    /// One of PostgreSQL's programs, run as the postgres user when we are root
    /// (postgres refuses to run as root).
    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.run_as.is_empty() {
            Command::new(program)
        } else {
            let mut c = Command::new("runuser");
            c.args(["-u", &self.run_as, "--"]).arg(program);
            c
        }
    }

    /// Runs one of PostgreSQL's programs; panics with its output when it fails.
    fn tool(&self, name: &str, args: &[&str]) {
        let out = self
            .command(name)
            .args(args)
            .output()
            .expect("run a PostgreSQL tool");
        assert!(
            out.status.success(),
            "{name} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the (stopped) server again on the same port and data.
    pub fn start_again(&self) {
        let data = self.data.display().to_string();
        let log = format!("{data}.log");
        let opts = format!(
            "-p {} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port
        );
        self.tool(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &opts, "start",
            ],
        );
        wait_listening(self.addr());
    }

    /// Stops the server: `mode` is pg_ctl's `fast` (backends are told to terminate, so
    /// clients get an error) or `immediate` (as a crash).
    pub fn stop(&self, mode: &str) {
        let data = self.data.display().to_string();
        self.tool("pg_ctl", &["-D", &data, "-m", mode, "-w", "stop"]);
    }

    /// The server's TCP address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// A tokio-postgres configuration for it (database and user `postgres`).
    pub fn config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .dbname("postgres");
        config
    }
}

impl Drop for PgInstance {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        // Already stopped is fine; a failure here must not hide the test's own panic.
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.data);
        let _ = std::fs::remove_file(format!("{data}.log"));
    }
}

/// A `redis-server` of the test's own on a free port (no persistence).
#[derive(Debug)]
pub struct RedisInstance {
    port: u16,
    child: Option<Child>,
}

impl RedisInstance {
    /// Starts one and waits until it accepts.
    pub fn start() -> RedisInstance {
        let mut redis = RedisInstance {
            port: free_port(),
            child: None,
        };
        redis.start_again();
        redis
    }

    /// Starts the (killed) server again on the same port.
    pub fn start_again(&mut self) {
        let child = Command::new(service_env("MAGPIE_REDIS_SERVER"))
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        wait_listening(self.addr());
    }

    /// Kills the server (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for RedisInstance {
    fn drop(&mut self) {
        self.kill();
    }
}
