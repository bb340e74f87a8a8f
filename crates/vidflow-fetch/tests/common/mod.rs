//! A minimal HTTP/1.1 server on 127.0.0.1 for the fetch tests: one request per
//! connection, a fixed set of routes, each one a case the fetcher must handle.
//!
//! Shared by the integration tests and the crate's own unit tests (through `#[path]`);
//! each uses part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// A 1x1 RGBA PNG.
pub const PNG: [u8; 70] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xdf, 0xc0, 0xf0,
    0x1f, 0x00, 0x06, 0x80, 0x02, 0x7f, 0x10, 0x4c, 0x1b, 0xe1, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The same PNG as base64, for `data:` URLs.
pub const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP438DwHwAGgAJ/EEwb4QAAAABJRU5ErkJggg==";

/// The article page served at `/page.html`.
pub const PAGE_HTML: &str = "<!DOCTYPE html><html><head><title>Test article</title></head>\
<body><h1>Test article</h1><p>The body of the test article.</p></body></html>";

/// A running server; stopped (with every open connection) when dropped.
pub struct TestServer {
    /// Where it listens (always 127.0.0.1).
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            // Connection tasks live in this set, so aborting the server aborts them all.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        connections.spawn(serve(stream, addr.port()));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        TestServer { addr, task }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, port: u16) {
    let Some(path) = read_request_path(&mut stream).await else {
        return;
    };
    // Errors writing are the client hanging up early, which several tests provoke.
    let _ = respond(&mut stream, &path, port).await;
    let _ = stream.shutdown().await;
}

async fn read_request_path(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let request_line = text.lines().next()?;
    let mut parts = request_line.split_whitespace();
    let _method = parts.next()?;
    parts.next().map(str::to_owned)
}

fn head(status: &str, headers: &[(&str, &str)], length: Option<usize>) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(length) = length {
        out.push_str(&format!("Content-Length: {length}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

async fn send(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    stream
        .write_all(&head(status, headers, Some(body.len())))
        .await?;
    stream.write_all(body).await
}

async fn respond(stream: &mut TcpStream, path: &str, port: u16) -> std::io::Result<()> {
    const HTML: (&str, &str) = ("Content-Type", "text/html; charset=ISO-8859-1");
    if let Some(n) = path.strip_prefix("/hop/") {
        let n: u32 = n.parse().unwrap_or(0);
        return if n == 0 {
            send(
                stream,
                "200 OK",
                &[HTML],
                b"<html><title>After the hops</title><p>Arrived.</p></html>",
            )
            .await
        } else {
            // Relative Location, as many servers send.
            let next = format!("/hop/{}", n - 1);
            send(stream, "302 Found", &[("Location", &next)], b"").await
        };
    }
    match path {
        "/page.html" => send(stream, "200 OK", &[HTML], PAGE_HTML.as_bytes()).await,
        "/plain.txt" => {
            send(
                stream,
                "200 OK",
                &[("Content-Type", "text/plain")],
                b"Plain words.",
            )
            .await
        }
        "/no-type" => send(stream, "200 OK", &[], PAGE_HTML.as_bytes()).await,
        "/no-type-binary" => send(stream, "200 OK", &[], b"\x00\x01\x02binary\x03").await,
        "/xhtml" => {
            let body = b"<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"><p>x</p></html>";
            send(
                stream,
                "200 OK",
                &[("Content-Type", "application/xhtml+xml")],
                body,
            )
            .await
        }
        "/missing" => send(stream, "404 Not Found", &[HTML], b"<p>no such page</p>").await,
        "/gone" => send(stream, "410 Gone", &[HTML], b"<p>gone</p>").await,
        "/broken" => send(stream, "500 Internal Server Error", &[HTML], b"<p>oops</p>").await,
        "/unavailable" => send(stream, "503 Service Unavailable", &[], b"").await,
        "/doc.pdf" => {
            let body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n";
            send(
                stream,
                "200 OK",
                &[("Content-Type", "application/pdf")],
                body,
            )
            .await
        }
        "/empty" => send(stream, "200 OK", &[HTML], b"").await,
        "/blank" => send(stream, "200 OK", &[HTML], b"  \r\n\t \n").await,
        "/huge" => {
            let body = vec![b'a'; 11 * 1024 * 1024];
            send(stream, "200 OK", &[HTML], &body).await
        }
        "/endless" => {
            // No length: the body ends when the connection does, which here is never.
            stream.write_all(&head("200 OK", &[HTML], None)).await?;
            let chunk = vec![b'a'; 64 * 1024];
            loop {
                stream.write_all(&chunk).await?;
            }
        }
        "/brotli" => {
            // Brotli that was never asked for (the fetcher asks for gzip only).
            let body = [0x1b, 0x03, 0x00, 0xf8, 0x25, 0x00, 0xa2, 0x40];
            send(stream, "200 OK", &[HTML, ("Content-Encoding", "br")], &body).await
        }
        "/trickle" => {
            // Headers at once, then the body a byte at a time, 200 ms apart: each read
            // makes progress, so only a deadline on the whole fetch ends it.
            stream
                .write_all(&head("200 OK", &[HTML], Some(PAGE_HTML.len() * 100)))
                .await?;
            for b in PAGE_HTML.repeat(100).bytes() {
                stream.write_all(&[b]).await?;
                stream.flush().await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(())
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            send(stream, "200 OK", &[HTML], PAGE_HTML.as_bytes()).await
        }
        "/cut" => {
            // Promise 1000 bytes, send 10, hang up: a connection lost mid-transfer.
            stream
                .write_all(&head("200 OK", &[HTML], Some(1000)))
                .await?;
            stream.write_all(b"<html><p>t").await?;
            stream.flush().await
        }
        "/to-file" => {
            send(
                stream,
                "302 Found",
                &[("Location", "file:///etc/passwd")],
                b"",
            )
            .await
        }
        "/no-location" => send(stream, "302 Found", &[], b"").await,
        "/to-localhost" => {
            let target = format!("http://localhost:{port}/page.html");
            send(
                stream,
                "301 Moved Permanently",
                &[("Location", &target)],
                b"",
            )
            .await
        }
        "/to-other-loopback" => {
            let target = format!("http://127.0.0.2:{port}/page.html");
            send(
                stream,
                "307 Temporary Redirect",
                &[("Location", &target)],
                b"",
            )
            .await
        }
        "/to-page" => {
            send(
                stream,
                "308 Permanent Redirect",
                &[("Location", "/page.html")],
                b"",
            )
            .await
        }
        "/image.png" => send(stream, "200 OK", &[("Content-Type", "image/png")], &PNG).await,
        "/octet.png" => {
            send(
                stream,
                "200 OK",
                &[("Content-Type", "application/octet-stream")],
                &PNG,
            )
            .await
        }
        "/not-image" => {
            send(
                stream,
                "200 OK",
                &[("Content-Type", "application/octet-stream")],
                b"just text",
            )
            .await
        }
        "/big.png" => {
            let mut body = PNG.to_vec();
            body.resize(9 * 1024 * 1024, 0);
            send(stream, "200 OK", &[("Content-Type", "image/png")], &body).await
        }
        _ => send(stream, "404 Not Found", &[HTML], b"<p>unknown route</p>").await,
    }
}
