//! Shared pieces of the end-to-end tests: a loopback HTTP server with article pages and
//! broken pages, and a way to run the real binary.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The repository's bundled sample page folder.
pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample-page")
}

/// A second article, different from the sample, so tests can use two distinct pages.
pub const SECOND_ARTICLE: &str = r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Why Bread Rises: The Chemistry of Yeast</title></head><body>
<nav><a href="/">Home</a> <a href="/recipes">Recipes</a></nav>
<article><h1>Why Bread Rises: The Chemistry of Yeast</h1>
<p>Bread rises because tiny living cells called yeast eat the sugars in flour and breathe out
carbon dioxide. The gas gets trapped in a stretchy web of gluten, and the dough swells like a
balloon as thousands of small bubbles grow inside it.</p>
<p>Gluten forms when two flour proteins, glutenin and gliadin, meet water and are kneaded. Kneading
lines the proteins up into long elastic strands. That is why a well kneaded dough can stretch thin
enough to let light through without tearing.</p>
<h2>Heat finishes the job</h2>
<p>In the oven the yeast works faster for a few minutes, then dies as the dough warms past sixty
degrees. The trapped gas expands, water turns to steam, and the crumb sets into the soft, open
structure we recognise as a good loaf.</p>
<p>The crust browns through the Maillard reaction, in which sugars and proteins combine to make
hundreds of new flavour compounds. A hot oven and a little steam give the crust its shine and
crackle.</p>
</article><footer>Copyright 2026 Kitchen Notes</footer></body></html>"#;

/// A page whose only text is navigation: nothing readable.
pub const NAV_ONLY: &str = r#"<!DOCTYPE html><html><head><title>Menu</title></head><body>
<nav><a href="/a">Home</a> <a href="/b">About</a> <a href="/c">Contact</a></nav></body></html>"#;

/// A loopback HTTP/1.1 server for tests; stopped when dropped.
pub struct TestServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts the server on 127.0.0.1 at a free port.
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        std::thread::spawn(move || {
                            let _ = serve(stream, port);
                        });
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        TestServer {
            port,
            stop,
            handle: Some(handle),
        }
    }

    /// `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    ctype: &str,
    body: &[u8],
    extra: &str,
) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

/// Reads a request's line and headers from `stream` (made blocking) and returns its path.
pub fn request_path(stream: &TcpStream) -> std::io::Result<String> {
    stream.set_nonblocking(false)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    Ok(request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned())
}

fn serve(mut stream: TcpStream, port: u16) -> std::io::Result<()> {
    let path = request_path(&stream)?;
    let sample = sample_dir();
    match path.as_str() {
        "/article.html" => {
            let html = std::fs::read(sample.join("index.html"))?;
            respond(&mut stream, "200 OK", "text/html; charset=utf-8", &html, "")
        }
        "/bread.html" => respond(
            &mut stream,
            "200 OK",
            "text/html",
            SECOND_ARTICLE.as_bytes(),
            "",
        ),
        p if p.ends_with(".jpg") => {
            let bytes = std::fs::read(sample.join(p.trim_start_matches('/')))?;
            respond(&mut stream, "200 OK", "image/jpeg", &bytes, "")
        }
        "/missing.html" => respond(
            &mut stream,
            "404 Not Found",
            "text/html",
            b"<h1>Not found</h1>",
            "",
        ),
        "/broken.html" => respond(
            &mut stream,
            "500 Internal Server Error",
            "text/html",
            b"oops",
            "",
        ),
        "/report.pdf" => respond(
            &mut stream,
            "200 OK",
            "application/pdf",
            b"%PDF-1.4 fake",
            "",
        ),
        "/empty.html" => respond(&mut stream, "200 OK", "text/html", b"", ""),
        "/nav.html" => respond(&mut stream, "200 OK", "text/html", NAV_ONLY.as_bytes(), ""),
        "/huge.html" => {
            let mut body = b"<html><body><p>".to_vec();
            body.resize(11 * 1024 * 1024, b'a');
            respond(&mut stream, "200 OK", "text/html", &body, "")
        }
        p if p.starts_with("/loop/") => {
            // /loop/N redirects to /loop/N+1 forever.
            let n: u32 = p[6..].parse().unwrap_or(0);
            let loc = format!("Location: http://127.0.0.1:{port}/loop/{}\r\n", n + 1);
            respond(&mut stream, "302 Found", "text/html", b"", &loc)
        }
        _ => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"no such page",
            "",
        ),
    }
}

/// The binary under test.
pub fn vidflow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vidflow"));
    // Keep the user's configuration and environment out of the tests.
    c.env_remove("VIDFLOW_CACHE__DIR");
    c.env("HOME", std::env::temp_dir());
    // Tests that are not about voices stay fast and byte-stable: the default (`auto`) would
    // pick a neural voice where one is installed. Voice tests set their own.
    c.env("VIDFLOW_VIDEO__VOICE", "slt");
    c
}

/// Runs the binary with `args` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    vidflow()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run vidflow")
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// ffprobe's JSON for a file.
pub fn ffprobe(path: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Files in `dir` whose names start with `prefix` or that look like partial outputs.
pub fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with(".mp4")
                || n.ends_with(".srt")
                || n.ends_with(".vtt")
                || n.contains("partial")
                || n.ends_with(".wav")
        })
        .collect()
}

/// A running `vidflow serve` and its port.
pub struct Service {
    pub child: Child,
    pub port: u16,
}

impl Service {
    pub fn start(data: &Path) -> Service {
        Service::start_with(data, &[], &[])
    }

    /// `vidflow serve` with more arguments and environment.
    pub fn start_with(data: &Path, args: &[&str], envs: &[(&str, &str)]) -> Service {
        let mut child = vidflow()
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(args)
            .env("VIDFLOW_VIDEO__PRESET", "ultrafast")
            .env("VIDFLOW_SERVER__SHUTDOWN_GRACE_SECONDS", "0")
            .env("VIDFLOW_SERVER__RATE_LIMIT_PER_SECOND", "0")
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vidflow serve");
        let port = read_port(&mut child, "listening on http://127.0.0.1:");
        Service { child, port }
    }

    /// One HTTP/1.1 request; returns the status and the body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap();
        (status, body)
    }

    pub fn job(&self, id: &str) -> serde_json::Value {
        let (status, body) = self.request("GET", &format!("/v1/jobs/{id}"), None);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    pub fn wait_for(
        &self,
        id: &str,
        what: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(240) {
            let job = self.job(id);
            if done(&job) {
                return job;
            }
            assert_ne!(job["state"], "failed", "{job}");
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("job {id}: timed out waiting for {what}");
    }

    pub fn submit(&self, body: &serde_json::Value) -> String {
        let (status, resp) = self.request("POST", "/v1/videos", Some(body));
        assert_eq!(status, 202, "{resp}");
        let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
        v["job_id"].as_str().unwrap().to_owned()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the port that follows `marker` on the child's stderr, then keeps draining it so the
/// pipe never fills.
pub fn read_port(child: &mut Child, marker: &'static str) -> u16 {
    read_port_keeping(child, marker, None)
}

/// [`read_port`], also keeping every stderr line in `kept`.
pub fn read_port_keeping(
    child: &mut Child,
    marker: &'static str,
    kept: Option<Arc<std::sync::Mutex<Vec<String>>>>,
) -> u16 {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split(marker).nth(1)
                && let Some(tx) = tx.take()
            {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let _ = tx.send(digits.parse::<u16>().unwrap());
            }
            if let Some(kept) = &kept {
                kept.lock().unwrap().push(line);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("the process never printed '{marker}'"))
}

/// A connection to the test's Redis at `url`.
pub fn redis_connection(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// Waits up to `limit` for `child` to exit and returns its status; `what` names it in the
/// failure message.
pub fn wait_exit(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < limit, "{what} did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}
