//! Test support: a throwaway `redis-server` for tests that need a real Redis.
//!
//! [`TestRedis::start`] launches `redis-server` on a free port of 127.0.0.1 with its own
//! temporary directory and no persistence (`--save '' --appendonly no`), waits until it
//! answers `PING`, and kills it when dropped. A test can [`stop`](TestRedis::stop) it and
//! [`start_again`](TestRedis::start_again) on the same port (an outage and a recovery), or
//! [`pause`](TestRedis::pause) it with SIGSTOP (a server that accepts connections but never
//! answers).
//!
//! [`TestRedis::start_tls`] starts one that also listens for TLS, with a throwaway
//! certificate authority made by the `openssl` program; its [`tls_url`](TestRedis::tls_url)
//! is `rediss://localhost:PORT/` and [`ca_file`](TestRedis::ca_file) the CA to trust.
//!
//! When `VIDFLOW_TEST_REDIS_URL` is set (CI with a Redis service, say), nothing is started:
//! [`url`](TestRedis::url) is that URL, and stopping or pausing is refused with
//! [`TestRedisError::Uncontrolled`]; tests that need those start their own server with
//! [`TestRedis::start_own`] instead, so they run (never skip) wherever Redis is installed.
//! Because such a Redis is shared, every test should keep its keys under its own
//! [`unique_prefix`].
//!
//! Redis keeps time for leases (a pending entry's idle time) and heartbeats (a key's TTL) on
//! its own clock, which no test can set. [`RedisClock::advance`] moves it for one prefix's
//! keys instead: it ages every pending stream entry and shortens every TTL under the prefix,
//! so lease and expiry tests need neither sleeps nor margins for a loaded machine.
//!
//! ```no_run
//! use vidflow_redis_test::{TestRedis, unique_prefix};
//!
//! let mut redis = TestRedis::start().unwrap();
//! let prefix = unique_prefix("outage");
//! println!("talk to {} under {prefix}", redis.url());
//! if redis.uncontrolled_reason().is_none() {
//!     redis.stop().unwrap(); // connections are now refused
//!     redis.start_again().unwrap(); // same port, empty data set
//! }
//! ```

#![warn(missing_docs)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The environment variable naming an external Redis to use instead of starting one.
pub const URL_ENV: &str = "VIDFLOW_TEST_REDIS_URL";

/// How long a fresh server may take to answer its first `PING`.
const READY_WITHIN: Duration = Duration::from_secs(10);
/// Tries with fresh ports when another process takes the free port first.
const PORT_ATTEMPTS: usize = 5;

/// Why a test Redis could not be started or controlled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestRedisError {
    /// A command of [`RedisClock::advance`] failed.
    #[error("cannot move the test Redis's clock ({what}): {source}")]
    Clock {
        /// What was being done.
        what: &'static str,
        /// The Redis error.
        #[source]
        source: redis::RedisError,
    },
    /// `redis-server` could not be run at all.
    #[error("cannot run redis-server (install the redis-server package): {0}")]
    Spawn(#[source] std::io::Error),
    /// The temporary directory or a free port could not be had.
    #[error("cannot prepare a test redis-server: {0}")]
    Setup(#[source] std::io::Error),
    /// The server exited or never answered `PING`.
    #[error("redis-server on port {port} did not come up: {reason}; its log: {log}")]
    NotReady {
        /// The port it was started on.
        port: u16,
        /// What was seen.
        reason: String,
        /// The end of its log file.
        log: String,
    },
    /// The Redis in use was not started by this crate, so it cannot be stopped or paused.
    #[error("the Redis at {url} comes from {URL_ENV}; a test cannot {action} it")]
    Uncontrolled {
        /// The external URL.
        url: String,
        /// What was asked ("stop", "pause", ...).
        action: &'static str,
    },
    /// Signalling or waiting for the server process failed.
    #[error("cannot {action} redis-server: {source}")]
    Control {
        /// What was being done.
        action: &'static str,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
}

/// A Redis for one test: a `redis-server` child process of its own, or the external one
/// named by [`URL_ENV`].
#[derive(Debug)]
pub struct TestRedis {
    url: String,
    own: Option<OwnServer>,
}

#[derive(Debug)]
struct OwnServer {
    port: u16,
    /// The TLS port, when started with [`TestRedis::start_tls`].
    tls_port: Option<u16>,
    /// Whether every write goes to an append-only file first ([`TestRedis::start_persistent`]).
    persistent: bool,
    dir: tempfile::TempDir,
    child: Option<Child>,
    paused: bool,
}

impl TestRedis {
    /// Starts a `redis-server` on a free loopback port and waits until it answers `PING`;
    /// with [`URL_ENV`] set, starts nothing and uses that URL.
    pub fn start() -> Result<TestRedis, TestRedisError> {
        if let Ok(url) = std::env::var(URL_ENV)
            && !url.trim().is_empty()
        {
            return Ok(TestRedis {
                url: url.trim().to_owned(),
                own: None,
            });
        }
        Self::start_own()
    }

    /// Starts a `redis-server` of this test's own whatever [`URL_ENV`] says: for tests
    /// that stop, restart or pause the server, which must run (never skip) everywhere.
    pub fn start_own() -> Result<TestRedis, TestRedisError> {
        Self::start_own_with(false, false)
    }

    /// Starts a `redis-server` of this test's own that also accepts TLS on a second port,
    /// with a certificate for `localhost` signed by a throwaway CA (made with `openssl`).
    pub fn start_tls() -> Result<TestRedis, TestRedisError> {
        Self::start_own_with(true, false)
    }

    /// Starts a `redis-server` of this test's own that appends every write to its AOF and
    /// fsyncs it before answering (`appendonly yes`, `appendfsync always`), as an operator
    /// who must not lose queued work runs it: after [`stop`](Self::stop) (a crash) and
    /// [`start_again`](Self::start_again) it holds every write it acknowledged.
    pub fn start_persistent() -> Result<TestRedis, TestRedisError> {
        Self::start_own_with(false, true)
    }

    fn start_own_with(tls: bool, persistent: bool) -> Result<TestRedis, TestRedisError> {
        let dir = tempfile::Builder::new()
            .prefix("vidflow-redis-")
            .tempdir()
            .map_err(TestRedisError::Setup)?;
        if tls {
            make_certificates(dir.path())?;
        }
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port().map_err(TestRedisError::Setup)?;
            let tls_port = if tls {
                Some(free_port().map_err(TestRedisError::Setup)?)
            } else {
                None
            };
            match spawn_ready(port, tls_port, persistent, dir.path()) {
                Ok(child) => {
                    return Ok(TestRedis {
                        url: format!("redis://127.0.0.1:{port}/"),
                        own: Some(OwnServer {
                            port,
                            tls_port,
                            persistent,
                            dir,
                            child: Some(child),
                            paused: false,
                        }),
                    });
                }
                // The port may have been taken between our probe and the server's bind.
                Err(err @ TestRedisError::NotReady { .. }) => last_error = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last_error.expect("at least one attempt"))
    }

    /// `redis://127.0.0.1:PORT/` (or the external URL).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `rediss://localhost:PORT/` for a server started with [`start_tls`](Self::start_tls).
    pub fn tls_url(&self) -> Option<String> {
        let port = self.own.as_ref()?.tls_port?;
        Some(format!("rediss://localhost:{port}/"))
    }

    /// The PEM file of the CA that signed a TLS server's certificate.
    pub fn ca_file(&self) -> Option<std::path::PathBuf> {
        let own = self.own.as_ref()?;
        own.tls_port?;
        Some(own.dir.path().join("ca.crt"))
    }

    /// The port of a server this crate started.
    pub fn port(&self) -> Option<u16> {
        self.own.as_ref().map(|s| s.port)
    }

    /// Why this Redis cannot be stopped, restarted or paused (it is external), or `None`
    /// when it can. Tests that need an outage print this and skip.
    pub fn uncontrolled_reason(&self) -> Option<String> {
        match self.own {
            Some(_) => None,
            None => Some(format!(
                "{URL_ENV} is set, and a test cannot stop or pause an external Redis"
            )),
        }
    }

    /// Whether the server this crate started is running now (always true when external).
    pub fn is_running(&self) -> bool {
        self.own.as_ref().is_none_or(|s| s.child.is_some())
    }

    /// Kills the server (SIGKILL, like a crash): connections are refused until
    /// [`start_again`](Self::start_again). Stopping a stopped server does nothing.
    pub fn stop(&mut self) -> Result<(), TestRedisError> {
        let server = self.own_mut("stop")?;
        if let Some(mut child) = server.child.take() {
            server.paused = false;
            kill_and_reap(&mut child)?;
        }
        Ok(())
    }

    /// Starts the server again on the same port and waits until it answers: with an empty
    /// data set, or for a [`start_persistent`](Self::start_persistent) server with what its
    /// AOF holds. Does nothing when it is running.
    pub fn start_again(&mut self) -> Result<(), TestRedisError> {
        let server = self.own_mut("restart")?;
        if server.child.is_none() {
            server.child = Some(spawn_ready(
                server.port,
                server.tls_port,
                server.persistent,
                server.dir.path(),
            )?);
        }
        Ok(())
    }

    /// Freezes the server with SIGSTOP: it still accepts connections (the kernel does that)
    /// but answers nothing, like a server stuck on a slow disk.
    pub fn pause(&mut self) -> Result<(), TestRedisError> {
        self.signal(libc::SIGSTOP, "pause", true)
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&mut self) -> Result<(), TestRedisError> {
        self.signal(libc::SIGCONT, "resume", false)
    }

    fn signal(
        &mut self,
        signal: libc::c_int,
        action: &'static str,
        paused: bool,
    ) -> Result<(), TestRedisError> {
        let server = self.own_mut(action)?;
        let Some(child) = &server.child else {
            return Err(TestRedisError::Control {
                action,
                source: std::io::Error::other("the server is stopped"),
            });
        };
        let pid = child.id() as libc::pid_t;
        // SAFETY: `kill` only sends a signal; the pid is our own child, not yet reaped, so it
        // cannot name another process.
        if unsafe { libc::kill(pid, signal) } != 0 {
            return Err(TestRedisError::Control {
                action,
                source: std::io::Error::last_os_error(),
            });
        }
        server.paused = paused;
        Ok(())
    }

    fn own_mut(&mut self, action: &'static str) -> Result<&mut OwnServer, TestRedisError> {
        match &mut self.own {
            Some(server) => Ok(server),
            None => Err(TestRedisError::Uncontrolled {
                url: self.url.clone(),
                action,
            }),
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(server) = &mut self.own
            && let Some(mut child) = server.child.take()
        {
            let _ = kill_and_reap(&mut child);
        }
    }
}

/// A key prefix no other test (or run of this one) uses: `vidflow-test:<label>:<pid>-<n>:`.
pub fn unique_prefix(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Nanoseconds tell apart two runs that happen to get the same pid (e.g. in containers).
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("vidflow-test:{label}:{}-{nanos:x}-{n}:", std::process::id())
}

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn kill_and_reap(child: &mut Child) -> Result<(), TestRedisError> {
    // SIGKILL ends a SIGSTOPped process too, so a paused server is stopped the same way.
    if let Err(source) = child.kill()
        && source.kind() != std::io::ErrorKind::InvalidInput
    {
        return Err(TestRedisError::Control {
            action: "stop",
            source,
        });
    }
    child.wait().map_err(|source| TestRedisError::Control {
        action: "wait for",
        source,
    })?;
    Ok(())
}

/// A CA and a `localhost` server certificate it signed, in `dir`: `ca.crt`, `server.crt`,
/// `server.key`.
fn make_certificates(dir: &Path) -> Result<(), TestRedisError> {
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .map_err(TestRedisError::Setup)?;
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=vidflow test CA",
        ],
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    ];
    for args in steps {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                TestRedisError::Setup(std::io::Error::new(
                    e.kind(),
                    format!("cannot run openssl (scripts/install-deps installs it): {e}"),
                ))
            })?;
        if !out.status.success() {
            return Err(TestRedisError::Setup(std::io::Error::other(format!(
                "openssl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ))));
        }
    }
    Ok(())
}

fn spawn_ready(
    port: u16,
    tls_port: Option<u16>,
    persistent: bool,
    dir: &Path,
) -> Result<Child, TestRedisError> {
    let log = dir.join(format!("redis-{port}.log"));
    let mut command = Command::new("redis-server");
    if let Some(tls) = tls_port {
        command
            .args(["--tls-port", &tls.to_string(), "--tls-auth-clients", "no"])
            .arg("--tls-cert-file")
            .arg(dir.join("server.crt"))
            .arg("--tls-key-file")
            .arg(dir.join("server.key"))
            .arg("--tls-ca-cert-file")
            .arg(dir.join("ca.crt"));
    }
    let mut child = command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--daemonize", "no"])
        .args(if persistent {
            ["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            ["--appendonly", "no", "--appendfsync", "everysec"]
        })
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(TestRedisError::Spawn)?;
    let not_ready = |child: &mut Child, reason: String| {
        let _ = kill_and_reap(child);
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        TestRedisError::NotReady {
            port,
            reason,
            log: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
        }
    };
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Err(not_ready(&mut child, format!("it exited ({status})"))),
            Ok(None) => {}
            Err(err) => return Err(not_ready(&mut child, format!("cannot wait for it: {err}"))),
        }
        if ping(port) {
            return Ok(child);
        }
        if Instant::now() >= deadline {
            return Err(not_ready(
                &mut child,
                format!("no PONG within {READY_WITHIN:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a Redis on `port` answers `PING` with `+PONG`.
fn ping(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_unique_and_labelled() {
        let a = unique_prefix("x");
        let b = unique_prefix("x");
        assert_ne!(a, b);
        assert!(a.starts_with("vidflow-test:x:") && a.ends_with(':'), "{a}");
    }

    #[test]
    fn stop_refuses_connections_and_start_again_answers_on_the_same_port() {
        let mut redis = TestRedis::start_own().unwrap();
        assert!(redis.uncontrolled_reason().is_none());
        let port = redis.port().unwrap();
        assert!(ping(port));
        redis.stop().unwrap();
        assert!(!redis.is_running());
        assert!(!ping(port), "a stopped server must not answer");
        redis.start_again().unwrap();
        assert_eq!(redis.port(), Some(port));
        assert!(ping(port));
    }

    #[test]
    fn a_paused_server_accepts_but_does_not_answer() {
        let mut redis = TestRedis::start_own().unwrap();
        assert!(redis.uncontrolled_reason().is_none());
        let port = redis.port().unwrap();
        redis.pause().unwrap();
        assert!(!ping(port));
        redis.resume().unwrap();
        assert!(ping(port));
    }

    #[test]
    fn an_external_url_is_used_as_is_and_cannot_be_stopped() {
        let mut external = TestRedis {
            url: "redis://10.0.0.1:6379/".into(),
            own: None,
        };
        assert_eq!(external.tls_url(), None);
        assert!(external.uncontrolled_reason().is_some());
        assert!(matches!(
            external.stop(),
            Err(TestRedisError::Uncontrolled { action: "stop", .. })
        ));
        assert!(external.is_running());
    }
}

/// Redis's clock as the keys under one prefix see it, moved by hand: see
/// [`advance`](Self::advance).
///
/// ```no_run
/// use std::time::Duration;
/// use vidflow_redis_test::{RedisClock, TestRedis, unique_prefix};
///
/// let redis = TestRedis::start().unwrap();
/// let prefix = unique_prefix("lease");
/// let clock = RedisClock::new(redis.url(), &prefix).unwrap();
/// // ... a consumer reads a task under `prefix` and stalls ...
/// clock.advance(Duration::from_secs(90)).unwrap(); // its lease has now run out
/// ```
#[derive(Debug, Clone)]
pub struct RedisClock {
    client: redis::Client,
    prefix: String,
}

impl RedisClock {
    /// A clock for the keys starting with `prefix` on the Redis at `url`.
    pub fn new(url: &str, prefix: &str) -> Result<RedisClock, TestRedisError> {
        let client = redis::Client::open(url).map_err(|source| TestRedisError::Clock {
            what: "open the URL",
            source,
        })?;
        Ok(RedisClock {
            client,
            prefix: prefix.to_owned(),
        })
    }

    /// Moves time forward by `by` for the prefix's keys, as if that much had passed with
    /// nobody touching them: every pending entry of every stream's consumer groups is that
    /// much more idle (its consumer and delivery count unchanged), and every key with a TTL
    /// has that much less of it (or is gone, when it had no more than that left).
    pub fn advance(&self, by: Duration) -> Result<(), TestRedisError> {
        let by_ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let err = |what| move |source| TestRedisError::Clock { what, source };
        let mut con = self.client.get_connection().map_err(err("connect"))?;
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let keys: Vec<String> = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter(&mut con)
            .map_err(err("list the prefix's keys"))?
            .collect::<Result<_, _>>()
            .map_err(err("list the prefix's keys"))?;
        for key in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query(&mut con)
                .map_err(err("read a key's type"))?;
            if kind == "stream" {
                let groups: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
                    .arg("GROUPS")
                    .arg(&key)
                    .query(&mut con)
                    .map_err(err("list a stream's groups"))?;
                for group in groups {
                    let Some(redis::Value::BulkString(name)) = group.get("name") else {
                        continue;
                    };
                    let name = String::from_utf8_lossy(name).into_owned();
                    // [id, consumer, idle ms, deliveries] per pending entry.
                    let pending: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
                        .arg(&key)
                        .arg(&name)
                        .arg("-")
                        .arg("+")
                        .arg(100_000)
                        .query(&mut con)
                        .map_err(err("list pending entries"))?;
                    for (id, consumer, idle, _) in pending {
                        // Claimed by its own consumer with JUSTID: neither the owner nor the
                        // delivery count changes, only the idle time.
                        let _: redis::Value = redis::cmd("XCLAIM")
                            .arg(&key)
                            .arg(&name)
                            .arg(&consumer)
                            .arg(0)
                            .arg(&id)
                            .arg("IDLE")
                            .arg(idle.saturating_add(by_ms))
                            .arg("JUSTID")
                            .query(&mut con)
                            .map_err(err("age a pending entry"))?;
                    }
                }
            }
            let left: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query(&mut con)
                .map_err(err("read a TTL"))?;
            if left > 0 {
                let left = left as u64;
                if left <= by_ms {
                    let _: u64 = redis::cmd("DEL")
                        .arg(&key)
                        .query(&mut con)
                        .map_err(err("expire a key"))?;
                } else {
                    let _: u64 = redis::cmd("PEXPIRE")
                        .arg(&key)
                        .arg(left - by_ms)
                        .query(&mut con)
                        .map_err(err("shorten a TTL"))?;
                }
            }
        }
        Ok(())
    }
}

/// `prefix` with SCAN's glob characters escaped, so it matches only itself.
fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
