//! Hostile pages through the real binary, served by a loopback server: each ends in a
//! clear error naming the problem or a sensible video within the limits, never a hang,
//! an out-of-memory or a panic, and a failure leaves no output file behind.
//!
//! Each case prints one line, `HARDEN<TAB>case<TAB>expected<TAB>what happened<TAB>pass
//! <TAB>peak RSS in KiB` (the `vidflow` process's, from wait4), that `scripts/harden`
//! collects into docs/hardening.md.

mod common;

use std::fs::File;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;

/// Longest any case may run before it counts as a hang.
const HANG: Duration = Duration::from_secs(240);

/// What one run of the binary did.
struct Run {
    code: Option<i32>,
    stderr: String,
    took: Duration,
    /// Peak resident set of the `vidflow` process, KiB.
    peak_rss_kib: i64,
}

/// Runs `vidflow make <args> -o out.mp4` in `dir` with `envs`, killing it at [`HANG`].
fn make(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let err_path = dir.join("stderr.txt");
    let mut cmd = vidflow();
    cmd.current_dir(dir)
        .arg("make")
        .args(args)
        .args(["--cache-dir", "cache", "-o", "out.mp4"])
        .env("VIDFLOW_RETRY_BACKOFF_MS", "10")
        .env("VIDFLOW_VIDEO__PRESET", "ultrafast")
        .env("VIDFLOW_VIDEO__MAX_SECONDS", "6")
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(File::create(&err_path).unwrap());
    let started = Instant::now();
    let child = cmd.spawn().expect("start vidflow");
    let pid = child.id() as libc::pid_t;
    let (code, peak_rss_kib) = loop {
        let mut status = 0;
        // SAFETY: a plain wait4 on our own child, into locals.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            break (code, usage.ru_maxrss);
        }
        assert!(r == 0, "wait4 failed");
        if started.elapsed() > HANG {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("vidflow make {args:?} hung: still running after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The child was reaped by wait4; `Child` must not wait on it again.
    std::mem::forget(child);
    Run {
        code,
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        took: started.elapsed(),
        peak_rss_kib,
    }
}

/// A run that must fail as bad input (exit 2) with every needle in its message, no panic
/// and nothing left at the output path. Returns the error line.
fn assert_clean_failure(dir: &Path, run: &Run, needles: &[&str]) -> String {
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("error:"))
        .unwrap_or_else(|| panic!("no error line: {}", run.stderr))
        .trim()
        .to_owned();
    for needle in needles {
        assert!(
            run.stderr.to_lowercase().contains(&needle.to_lowercase()),
            "message lacks '{needle}': {}",
            run.stderr
        );
    }
    let left = leftovers(dir);
    assert!(left.is_empty(), "left behind {left:?}");
    line
}

/// A run that must make a video: exit 0, a valid MP4 with video and audio, no panic.
fn assert_video(dir: &Path, run: &Run) -> String {
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let probe = ffprobe(&dir.join("out.mp4"));
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("a duration");
    let kinds: Vec<&str> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["codec_type"].as_str())
        .collect();
    assert!(
        kinds.contains(&"video") && kinds.contains(&"audio"),
        "{probe}"
    );
    // The narration limit is 6 s (20 s for the image case); a title card and the
    // presenter's lead-out add a little.
    assert!(duration > 0.5 && duration < 30.0, "duration {duration}");
    format!("video of {duration:.1} s")
}

/// The line `scripts/harden` reads.
fn report(case: &str, expected: &str, happened: &str, run: &Run) {
    let happened = happened.replace(['\t', '\n'], " ");
    println!(
        "HARDEN\t{case}\t{expected}\t{happened} ({:.1} s)\tpass\t{}",
        run.took.as_secs_f64(),
        run.peak_rss_kib
    );
}

/// Memory a hostile page may make vidflow use, KiB: well above a normal run, far below
/// what the bombs would take if they were decoded.
const RSS_BOUND_KIB: i64 = 1024 * 1024;

const ALLOW: &str = "--allow-private-network";

#[test]
fn a_page_of_100k_nested_elements() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let run = make(dir.path(), &[&server.url("/nested.html"), ALLOW], &[]);
    // Whatever the extractor makes of it, the process ends with an answer: a video, or an
    // error (bad input, or the extract stage's time limit) with nothing left behind.
    let happened = if run.code == Some(0) {
        assert_video(dir.path(), &run)
    } else {
        assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
        assert!(
            matches!(run.code, Some(1..=3)),
            "ended by a signal or a crash: {:?}: {}",
            run.code,
            run.stderr
        );
        let left = leftovers(dir.path());
        assert!(left.is_empty(), "left behind {left:?}");
        run.stderr
            .lines()
            .find(|l| l.contains("error:"))
            .unwrap_or_else(|| panic!("no error line: {}", run.stderr))
            .trim()
            .to_owned()
    };
    assert!(run.peak_rss_kib < RSS_BOUND_KIB, "{} KiB", run.peak_rss_kib);
    report(
        "page: 100,000 nested elements",
        "a video or a clear error, no stack overflow",
        &happened,
        &run,
    );
}

#[test]
fn fifty_megabytes_of_text() {
    let server = HostileServer::start();
    for (path, needle) in [
        ("/50mb.html", "over the 10 MiB limit"),
        ("/50mb-chunked.html", "larger than the 10 MiB limit"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let run = make(dir.path(), &[&server.url(path), ALLOW], &[]);
        let line = assert_clean_failure(dir.path(), &run, &[needle]);
        assert!(run.peak_rss_kib < RSS_BOUND_KIB, "{} KiB", run.peak_rss_kib);
        let case = if path.contains("chunked") {
            "page: 50 MB of text, chunked (no length)"
        } else {
            "page: 50 MB of text with Content-Length"
        };
        report(case, "refused at limits.max_page_bytes", &line, &run);
    }
}

#[test]
fn a_gzip_bomb() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let run = make(dir.path(), &[&server.url("/gzip-bomb.html"), ALLOW], &[]);
    let line = assert_clean_failure(dir.path(), &run, &["larger than the 10 MiB limit"]);
    assert!(run.peak_rss_kib < RSS_BOUND_KIB, "{} KiB", run.peak_rss_kib);
    report(
        "page: gzip bomb (256 MiB in ~250 KiB)",
        "decoding stops at limits.max_page_bytes",
        &line,
        &run,
    );
}

#[test]
fn a_brotli_body_is_refused_undecoded() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let run = make(dir.path(), &[&server.url("/brotli-bomb.html"), ALLOW], &[]);
    let line = assert_clean_failure(dir.path(), &run, &["Content-Encoding 'br'"]);
    report(
        "page: Content-Encoding br (not asked for)",
        "refused before its body is read or decoded",
        &line,
        &run,
    );
}

#[test]
fn an_endless_redirect_chain() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let run = make(dir.path(), &[&server.url("/loop/0"), ALLOW], &[]);
    let line = assert_clean_failure(dir.path(), &run, &["too many redirects"]);
    report(
        "page: endless redirect chain",
        "refused after limits.max_redirects",
        &line,
        &run,
    );
}

#[test]
fn redirects_and_links_into_the_machine_are_refused() {
    let server = HostileServer::start();
    // A redirect to a local file is refused whatever the network policy.
    let dir = tempfile::tempdir().unwrap();
    let run = make(dir.path(), &[&server.url("/to-file"), ALLOW], &[]);
    let line = assert_clean_failure(dir.path(), &run, &["file:///etc/passwd", "will not follow"]);
    report(
        "page: redirect to file:///etc/passwd",
        "refused, names the target",
        &line,
        &run,
    );
    // The cloud metadata address, and this very server, without the flag (the guard's
    // check of each redirect hop is vidflow-fetch's hop_tests).
    for (url, case) in [
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "page: the cloud metadata address",
        ),
        (server.url("/nested.html"), "page: a loopback address"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let run = make(dir.path(), &[&url], &[]);
        let line = assert_clean_failure(dir.path(), &run, &["refusing", ALLOW]);
        report(case, "SSRF guard refuses, names the flag", &line, &run);
    }
}

#[test]
fn a_server_trickling_a_byte_a_second() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let run = make(
        dir.path(),
        &[&server.url("/trickle.html"), ALLOW],
        &[("VIDFLOW_TIMEOUTS__FETCH", "3")],
    );
    let line = assert_clean_failure(dir.path(), &run, &["did not finish loading within 3 s"]);
    assert!(run.took < Duration::from_secs(30), "took {:?}", run.took);
    report(
        "page: server trickles 1 byte/s",
        "cut off at timeouts.fetch (3 s here)",
        &line,
        &run,
    );
}

#[test]
fn images_that_are_decompression_bombs_are_left_out() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    // Long enough a narration for the script to show the page's images.
    let run = make(
        dir.path(),
        &[&server.url("/bomb-images.html"), ALLOW],
        &[("VIDFLOW_VIDEO__MAX_SECONDS", "20")],
    );
    let happened = assert_video(dir.path(), &run);
    assert!(
        run.stderr.contains("megapixels"),
        "no word of the refused images: {}",
        run.stderr
    );
    assert!(run.peak_rss_kib < RSS_BOUND_KIB, "{} KiB", run.peak_rss_kib);
    report(
        "page: images declaring 100,000 × 100,000 px",
        "images refused at limits.max_decoded_pixels, video without them",
        &format!("{happened}, images skipped naming their size"),
        &run,
    );
}

#[test]
fn a_language_no_installed_voice_speaks() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let no_voices = dir.path().join("no-voices");
    std::fs::create_dir(&no_voices).unwrap();
    let run = make(
        dir.path(),
        &[&server.url("/georgian.html"), ALLOW],
        &[
            ("VIDFLOW_VIDEO__VOICE", "auto"),
            ("VIDFLOW_VOICES_DIR", no_voices.to_str().unwrap()),
        ],
    );
    let line = assert_clean_failure(
        dir.path(),
        &run,
        &["\"ka\"", "no installed voice speaks it"],
    );
    report(
        "page: in Georgian, no voice for it",
        "error naming the language",
        &line,
        &run,
    );
}

#[test]
fn empty_and_navigation_only_pages() {
    let server = HostileServer::start();
    for (path, needle, case) in [
        ("/empty.html", "empty", "page: empty body"),
        (
            "/empty-article.html",
            "no readable text",
            "page: empty article",
        ),
        ("/nav-only.html", "no readable text", "page: all navigation"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let run = make(dir.path(), &[&server.url(path), ALLOW], &[]);
        let line = assert_clean_failure(dir.path(), &run, &[needle]);
        report(case, "error naming the problem", &line, &run);
    }
}

#[test]
fn the_limits_are_configuration() {
    let o = vidflow()
        .env("VIDFLOW_LIMITS__MAX_REDIRECTS", "2")
        .args(["config", "show"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let line = |k: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{k} = ")))
            .unwrap_or_else(|| panic!("no {k} in {out}"))
            .to_owned()
    };
    assert!(
        line("limits.max_redirects").contains("environment"),
        "{out}"
    );
    assert!(
        line("limits.max_decoded_pixels").contains("40000000"),
        "{out}"
    );
    for key in [
        "max_page_bytes",
        "max_image_bytes",
        "request_header_seconds",
        "request_body_seconds",
    ] {
        line(&format!("limits.{key}"));
    }
    // And the fetch obeys them.
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let run = make(
        dir.path(),
        &[&server.url("/loop/0"), ALLOW],
        &[("VIDFLOW_LIMITS__MAX_REDIRECTS", "2")],
    );
    assert_clean_failure(dir.path(), &run, &["more than 2 times"]);
    let dir = tempfile::tempdir().unwrap();
    let run = make(
        dir.path(),
        &[&server.url("/georgian.html"), ALLOW],
        &[("VIDFLOW_LIMITS__MAX_PAGE_BYTES", "1000")],
    );
    assert_clean_failure(dir.path(), &run, &["over the 1000 bytes limit"]);
    let dir = tempfile::tempdir().unwrap();
    let run = make(
        dir.path(),
        &[&server.url("/nested.html"), ALLOW],
        &[("VIDFLOW_LIMITS__MAX_DECODED_PIXELS", "0")],
    );
    assert_clean_failure(
        dir.path(),
        &run,
        &["limits.max_decoded_pixels must be at least 1"],
    );
}

/// A loopback server of hostile pages; stopped when dropped.
struct HostileServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl HostileServer {
    fn start() -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let stopped = stopped.clone();
                        std::thread::spawn(move || {
                            // Write errors are the client hanging up, as it should.
                            let _ = serve(stream, port, &stopped);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HostileServer { port, stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn head(stream: &mut TcpStream, status: &str, headers: &str) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nConnection: close\r\n{headers}\r\n"
    )
}

fn respond(stream: &mut TcpStream, ctype: &str, body: &[u8]) -> std::io::Result<()> {
    head(
        stream,
        "200 OK",
        &format!(
            "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
            body.len()
        ),
    )?;
    stream.write_all(body)
}

const ARTICLE_TEXT: &str = "<p>Lighthouses were built to warn ships away from rocks and \
shallow water at night. Their lamps turn slowly so that sailors can tell one light from \
another by the rhythm of its flashes, and every light along a coast has its own pattern.</p>\
<p>Early lighthouses burned wood or coal in open fires. Later keepers trimmed oil lamps \
every few hours through the night, and a great glass lens gathered the weak flame into a \
beam that could be seen thirty kilometres out to sea.</p>";

fn serve(mut stream: TcpStream, port: u16, stopped: &AtomicBool) -> std::io::Result<()> {
    let path = request_path(&stream)?;
    match path.as_str() {
        "/nested.html" => {
            let depth = 100_000;
            let mut html = String::from("<!DOCTYPE html><html lang=\"en\"><head><title>Deep</title></head><body>");
            html.push_str(&"<div>".repeat(depth));
            html.push_str(ARTICLE_TEXT);
            html.push_str(&"</div>".repeat(depth));
            html.push_str("</body></html>");
            respond(&mut stream, "text/html; charset=utf-8", html.as_bytes())
        }
        "/50mb.html" | "/50mb-chunked.html" => {
            let chunked = path.contains("chunked");
            let total = 50 * 1024 * 1024;
            let headers = if chunked {
                "Content-Type: text/html\r\nTransfer-Encoding: chunked\r\n".to_owned()
            } else {
                format!("Content-Type: text/html\r\nContent-Length: {total}\r\n")
            };
            head(&mut stream, "200 OK", &headers)?;
            let block = "All work and no play. ".repeat(3000);
            let mut sent = 0;
            while sent < total {
                if chunked {
                    write!(stream, "{:x}\r\n{block}\r\n", block.len())?;
                } else {
                    stream.write_all(block.as_bytes())?;
                }
                sent += block.len();
            }
            if chunked {
                stream.write_all(b"0\r\n\r\n")?;
            }
            Ok(())
        }
        "/gzip-bomb.html" => {
            let body = gzip_bomb();
            head(
                &mut stream,
                "200 OK",
                &format!(
                    "Content-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n",
                    body.len()
                ),
            )?;
            stream.write_all(&body)
        }
        "/brotli-bomb.html" => {
            // What the bytes are does not matter: vidflow must refuse them unread. They
            // are a brotli stream's worth of noise, labelled as brotli.
            let body: Vec<u8> = (0..64 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
            head(
                &mut stream,
                "200 OK",
                &format!(
                    "Content-Type: text/html\r\nContent-Encoding: br\r\nContent-Length: {}\r\n",
                    body.len()
                ),
            )?;
            stream.write_all(&body)
        }
        p if p.starts_with("/loop/") => {
            let n: u64 = p[6..].parse().unwrap_or(0);
            head(
                &mut stream,
                "302 Found",
                &format!("Location: http://127.0.0.1:{port}/loop/{}\r\nContent-Length: 0\r\n", n + 1),
            )
        }
        "/to-file" => head(
            &mut stream,
            "302 Found",
            "Location: file:///etc/passwd\r\nContent-Length: 0\r\n",
        ),
        "/trickle.html" => {
            head(
                &mut stream,
                "200 OK",
                "Content-Type: text/html\r\nContent-Length: 100000\r\n",
            )?;
            let page = format!("<html><body>{ARTICLE_TEXT}").repeat(200);
            for b in page.bytes() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                stream.write_all(&[b])?;
                stream.flush()?;
                std::thread::sleep(Duration::from_secs(1));
            }
            Ok(())
        }
        "/bomb-images.html" => {
            let html = std::fs::read_to_string(sample_dir().join("index.html"))?;
            let html = html
                .replace("mandelbrot.jpg", "/bomb-1.png")
                .replace("sierpinski.jpg", "/bomb-2.png")
                .replace("life.jpg", "/bomb-3.png");
            respond(&mut stream, "text/html; charset=utf-8", html.as_bytes())
        }
        p if p.starts_with("/bomb-") && p.ends_with(".png") => {
            respond(&mut stream, "image/png", &png_bomb(100_000, 100_000))
        }
        "/georgian.html" => {
            let text = "ქართული ენა ქართველური ენების ოჯახის ენაა. ის საქართველოს სახელმწიფო ენაა \
                და მას მილიონობით ადამიანი ლაპარაკობს. ქართულ დამწერლობას თავისი ანბანი აქვს, \
                რომელსაც მხედრული ეწოდება და რომელიც ძალიან ლამაზია.";
            let html = format!(
                "<!DOCTYPE html><html lang=\"ka\"><head><meta charset=\"utf-8\"><title>ქართული ენა</title></head>\
                 <body><article><h1>ქართული ენა</h1><p>{text}</p><p>{text}</p><p>{text}</p></article></body></html>"
            );
            respond(&mut stream, "text/html; charset=utf-8", html.as_bytes())
        }
        "/empty.html" => respond(&mut stream, "text/html", b""),
        "/empty-article.html" => respond(
            &mut stream,
            "text/html",
            b"<!DOCTYPE html><html><head><title>Nothing</title></head><body><article></article></body></html>",
        ),
        "/nav-only.html" => respond(&mut stream, "text/html", NAV_ONLY.as_bytes()),
        _ => {
            head(
                &mut stream,
                "404 Not Found",
                "Content-Type: text/plain\r\nContent-Length: 0\r\n",
            )
        }
    }
}

/// A gzip stream of an HTML page 256 MiB long (spaces, mostly), about 250 KiB on the wire.
fn gzip_bomb() -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(b"<!DOCTYPE html><html><body><p>").unwrap();
    let spaces = vec![b' '; 1024 * 1024];
    for _ in 0..256 {
        gz.write_all(&spaces).unwrap();
    }
    gz.write_all(b"</p></body></html>").unwrap();
    gz.finish().unwrap()
}

/// A valid PNG that declares `w` × `h` pixels (gigabytes decoded) and carries only a few
/// rows: what a decoder would have to allocate before it found out.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 1 + 3 * w as usize]).unwrap();
    chunk(&mut png, b"IDAT", &z.finish().unwrap());
    chunk(&mut png, b"IEND", &[]);
    png
}
