//! Hostile clients against a real server on loopback: oversize, mistyped, malformed,
//! compressed and slow requests each get a JSON error in the API's shape, never a hang
//! or a crash, and the health probes keep answering while slow clients hold connections.
//!
//! Each case prints one line, `HARDEN<TAB>case<TAB>expected<TAB>what happened<TAB>pass`,
//! that `scripts/harden` collects into docs/hardening.md.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short deadlines, so that slow clients are cut off in test time.
const HEADER_SECONDS: u64 = 1;
const BODY_SECONDS: u64 = 2;

async fn hostile_service() -> TestService {
    TestService::start(|c| {
        c.limits.request_header_seconds = HEADER_SECONDS;
        c.limits.request_body_seconds = BODY_SECONDS;
    })
    .await
}

/// The line `scripts/harden` reads.
fn report(case: &str, expected: &str, happened: &str) {
    println!("HARDEN\t{case}\t{expected}\t{happened}\tpass");
}

/// POSTs `body` to /v1/videos with `headers`; returns the status and the JSON body,
/// asserting the body is the API's error shape.
async fn post(
    svc: &TestService,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> (u16, serde_json::Value, String) {
    let mut req = svc.client.post(svc.url("/v1/videos"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("answer {status} is not JSON ({e}): {text}"));
    let code = error_code(&json);
    (status, json, code)
}

fn message(v: &serde_json::Value) -> &str {
    v["error"]["message"].as_str().unwrap_or_default()
}

fn fields(v: &serde_json::Value) -> Vec<String> {
    v["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn oversize_bodies_get_413() {
    let svc = hostile_service().await;
    let html = "a".repeat(2 * 1024 * 1024);
    let body = serde_json::json!({ "html": html }).to_string();
    let (status, v, code) = post(&svc, &[JSON], body).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"), "{v}");
    assert!(message(&v).contains("too large"), "{v}");
    report(
        "API: 2 MiB body",
        "413, JSON error",
        &format!("{status} {code}: {}", message(&v)),
    );
    svc.stop().await;
}

#[tokio::test]
async fn wrong_content_types_and_encodings_get_415() {
    let svc = hostile_service().await;
    let body = r#"{"html": "<p>Hello</p>"}"#;
    for ctype in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let (status, v, code) = post(&svc, &[("content-type", ctype)], body).await;
        assert_eq!(
            (status, code.as_str()),
            (415, "unsupported_media_type"),
            "{ctype}: {v}"
        );
    }
    let (status, v, code) = post(&svc, &[], body).await;
    assert_eq!(status, 415, "no content type: {v}");
    report(
        "API: wrong Content-Type",
        "415, JSON error",
        &format!("{status} {code}: {}", message(&v)),
    );
    for encoding in ["gzip", "br", "deflate, gzip"] {
        let (status, v, code) = post(&svc, &[JSON, ("content-encoding", encoding)], body).await;
        assert_eq!(
            (status, code.as_str()),
            (415, "unsupported_media_type"),
            "{v}"
        );
        assert!(message(&v).contains("Content-Encoding"), "{v}");
        assert!(message(&v).contains(encoding), "{v}");
    }
    // `identity` is no encoding at all.
    let resp = svc
        .client
        .post(svc.url("/v1/videos"))
        .header("content-type", "application/json")
        .header("content-encoding", "identity")
        .body(r#"{"html": "<p>Hello</p>", "dry_run": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    report(
        "API: Content-Encoding gzip/br body",
        "415 naming the encoding",
        "415 unsupported_media_type naming gzip, br, deflate",
    );
    svc.stop().await;
}

#[tokio::test]
async fn malformed_json_and_trailing_garbage_get_400_naming_the_problem() {
    let svc = hostile_service().await;
    let cases: [(&str, &str); 5] = [
        (r#"{"html": "#, "not valid JSON"),
        (r#"{"html": "<p>x</p>",}"#, "not valid JSON"),
        ("\u{0}\u{1}\u{2}", "not valid JSON"),
        (
            r#"{"html": "<p>x</p>"} {"url": "https://example.org/"}"#,
            "more after its JSON",
        ),
        (r#"{"html": "<p>x</p>"}garbage"#, "more after its JSON"),
    ];
    for (body, needle) in cases {
        let (status, v, code) = post(&svc, &[JSON], body).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "invalid_json"),
            "{body}: {v}"
        );
        assert!(message(&v).contains(needle), "{body}: {v}");
    }
    report(
        "API: malformed JSON, trailing garbage",
        "400 naming the problem",
        "400 invalid_json: 'not valid JSON ... line/column', 'more after its JSON value'",
    );
    svc.stop().await;
}

#[tokio::test]
async fn unknown_fields_and_huge_numbers_name_the_field() {
    let svc = hostile_service().await;
    let (status, v, code) = post(
        &svc,
        &[JSON],
        r#"{"html": "<p>x</p>", "options": {"colour": "red"}}"#,
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "validation_failed"), "{v}");
    assert_eq!(fields(&v), ["options.colour"], "{v}");
    report(
        "API: unknown field",
        "4xx naming the field",
        &format!("{status} {code}, field {}", fields(&v).join(",")),
    );

    let huge = [
        (
            r#"{"html": "<p>x</p>", "options": {"crf": 1e999}}"#,
            400,
            "options.crf",
        ),
        (
            r#"{"html": "<p>x</p>", "options": {"fps": 340282366920938463463374607431768211457}}"#,
            422,
            "options.fps",
        ),
        (
            r#"{"html": "<p>x</p>", "options": {"max_seconds": 1e308}}"#,
            422,
            "options.max_seconds",
        ),
        (
            r#"{"html": "<p>x</p>", "options": {"crf": -1}}"#,
            422,
            "options.crf",
        ),
    ];
    let mut seen = Vec::new();
    for (body, want, field) in huge {
        let (status, v, code) = post(&svc, &[JSON], body).await;
        assert_eq!(status, want, "{body}: {v}");
        assert_eq!(fields(&v), [field], "{body}: {v}");
        seen.push(format!("{status} {code} {field}"));
    }
    report(
        "API: huge numbers",
        "400/422 naming the field",
        &seen.join("; "),
    );
    svc.stop().await;
}

/// Reads what the server sends until it closes, or `limit` passes; returns the text and
/// whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

/// A 408 in the API's error shape, with the body's message containing `needle`.
fn assert_json_408(answer: &str, needle: &str) {
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    assert_eq!(error_code(&v), "timeout", "{v}");
    assert!(message(&v).contains(needle), "{v}");
}

#[tokio::test]
async fn headers_sent_a_byte_at_a_time_get_408_and_the_connection_closes() {
    let svc = hostile_service().await;
    let addr = svc.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    let head = b"POST /v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: ";
    // Never finishes: far more bytes than the deadline lets through.
    let (mut reader, mut writer) = stream.split();
    let send = trickle_half(&mut writer, head, Duration::from_millis(200));
    let read = read_until_closed_half(&mut reader, Duration::from_secs(10));
    let ((), (answer, closed)) = tokio::join!(send, read);
    let took = started.elapsed();
    assert!(closed, "the connection stayed open: {answer:?}");
    assert_json_408(&answer, "headers");
    assert!(
        took < Duration::from_secs(HEADER_SECONDS + 4),
        "took {took:?}"
    );
    report(
        "API: headers a byte at a time (slowloris)",
        "408 JSON after the header deadline, connection closed",
        &format!("408 timeout after {:.1} s, closed", took.as_secs_f64()),
    );
    svc.stop().await;
}

async fn trickle_half(w: &mut tokio::net::tcp::WriteHalf<'_>, bytes: &[u8], gap: Duration) {
    for b in bytes {
        if w.write_all(&[*b]).await.is_err() {
            return;
        }
        tokio::time::sleep(gap).await;
    }
}

async fn read_until_closed_half(
    r: &mut tokio::net::tcp::ReadHalf<'_>,
    limit: Duration,
) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

#[tokio::test]
async fn a_body_that_never_finishes_gets_408_and_the_connection_closes() {
    let svc = hostile_service().await;
    let addr = svc.base.trim_start_matches("http://").to_owned();

    // Stalls: ten bytes of a promised thousand, then nothing.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(
            b"POST /v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"html\": ",
        )
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    let stalled = started.elapsed();
    assert!(closed, "the connection stayed open: {answer:?}");
    assert_json_408(&answer, "body");
    assert!(stalled >= Duration::from_secs(BODY_SECONDS) - Duration::from_millis(100));
    assert!(
        stalled < Duration::from_secs(BODY_SECONDS + 4),
        "{stalled:?}"
    );

    // Trickles: a byte every 100 ms keeps any idle timer happy; the deadline is for the
    // whole body.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(
            b"POST /v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Transfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.split();
    let chunks: Vec<u8> = std::iter::repeat_n(b"1\r\n \r\n".as_slice(), 200)
        .flatten()
        .copied()
        .collect();
    let send = trickle_half(&mut writer, &chunks, Duration::from_millis(15));
    let read = read_until_closed_half(&mut reader, Duration::from_secs(10));
    let ((), (answer, closed)) = tokio::join!(send, read);
    let trickled = started.elapsed();
    assert!(closed, "the connection stayed open: {answer:?}");
    assert_json_408(&answer, "body");
    assert!(
        trickled < Duration::from_secs(BODY_SECONDS + 4),
        "{trickled:?}"
    );
    report(
        "API: body that never finishes / trickles",
        "408 JSON after the body deadline, connection closed",
        &format!(
            "408 timeout after {:.1} s (stalled) and {:.1} s (trickled), closed",
            stalled.as_secs_f64(),
            trickled.as_secs_f64()
        ),
    );
    // The server is unharmed.
    let (status, _) = svc.get_json("/health/live").await;
    assert_eq!(status, 200);
    svc.stop().await;
}

#[tokio::test]
async fn idle_connections_are_closed_without_an_answer() {
    let svc = hostile_service().await;
    let addr = svc.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(closed, "an idle connection stayed open");
    // Nothing was asked, so nothing is answered: a 408 here could be taken by a client
    // as the answer to the request it sends next on a kept-alive connection.
    assert_eq!(answer, "");
    // Kept-alive connections still serve request after request.
    for _ in 0..3 {
        let (status, _) = svc.get_json("/health/live").await;
        assert_eq!(status, 200);
    }
    svc.stop().await;
}

#[tokio::test]
async fn health_answers_while_slow_clients_hold_connections() {
    let svc = hostile_service().await;
    let addr = svc.base.trim_start_matches("http://").to_owned();
    // Sixty slowloris clients, each past its first byte.
    let mut held = Vec::new();
    for _ in 0..60 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            .await
            .unwrap();
        held.push(s);
    }
    let started = Instant::now();
    for path in ["/health/live", "/health/ready", "/health/live"] {
        let (status, v) = svc.get_json(path).await;
        assert_eq!(status, 200, "{path}: {v}");
    }
    let probes = started.elapsed();
    assert!(probes < Duration::from_secs(5), "probes took {probes:?}");
    // And each slow client is cut off by the deadline.
    let mut cut = 0;
    for mut s in held {
        let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(10)).await;
        if closed && answer.starts_with("HTTP/1.1 408") {
            cut += 1;
        }
    }
    assert_eq!(cut, 60);
    report(
        "API: health while 60 slow clients hold connections",
        "probes answer 200; every slow client gets 408",
        &format!(
            "3 probes in {:.2} s, 60/60 slow clients cut off with 408",
            probes.as_secs_f64()
        ),
    );
    svc.stop().await;
}
