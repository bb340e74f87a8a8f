//! Every redirect hop is checked again: a public page must not be able to bounce the
//! fetcher into the local network. The test server is on loopback, so these tests exempt
//! its one address (127.0.0.1, written as an IP literal) and show that the hops it
//! redirects to (another loopback address, a name resolving to loopback, a `file://` URL)
//! are refused.

use std::net::{IpAddr, Ipv4Addr};

use vidflow_core::ErrorKind;

use crate::FetchPolicy;
use crate::fetcher::Fetcher;
use crate::test_server::{PAGE_HTML, TestServer};

fn fetcher_trusting_only_the_server() -> Fetcher {
    Fetcher::with_exempt_literals(
        FetchPolicy::default(),
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
    )
    .unwrap()
}

#[tokio::test]
async fn the_exempt_server_itself_is_reachable() {
    let server = TestServer::start().await;
    let fetcher = fetcher_trusting_only_the_server();
    let page = fetcher.fetch_page(&server.url("/to-page")).await.unwrap();
    assert_eq!(page.body, PAGE_HTML.as_bytes());
    assert_eq!(page.final_url, server.url("/page.html"));
}

#[tokio::test]
async fn redirect_to_another_loopback_address_is_refused() {
    let server = TestServer::start().await;
    let fetcher = fetcher_trusting_only_the_server();
    let err = fetcher
        .fetch_page(&server.url("/to-other-loopback"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    let port = server.addr.port();
    assert!(
        err.message.starts_with(&format!(
            "refusing to fetch page at http://127.0.0.2:{port}/page.html (redirected from {})",
            server.url("/to-other-loopback")
        )),
        "{}",
        err.message
    );
    assert!(
        err.message
            .contains("127.0.0.2 (loopback) is not a public address"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("--allow-private-network"),
        "{}",
        err.message
    );
    // The line scripts/harden collects.
    println!(
        "HARDEN\tpage: redirect from a public page to a private address\trefused at the hop, names the address\t{}\tpass",
        err.message
    );
}

#[tokio::test]
async fn redirect_to_a_name_resolving_to_loopback_is_refused_by_the_resolver() {
    let server = TestServer::start().await;
    let fetcher = fetcher_trusting_only_the_server();
    let err = fetcher
        .fetch_page(&server.url("/to-localhost"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    // Names are judged by what they resolve to, even when that is the exempt 127.0.0.1.
    assert!(
        err.message.starts_with(&format!(
            "refusing to fetch page at http://localhost:{}/page.html (redirected from",
            server.addr.port()
        )),
        "{}",
        err.message
    );
    assert!(
        err.message
            .contains("host localhost resolves only to non-public addresses"),
        "{}",
        err.message
    );
    assert!(err.message.contains("localhost"), "{}", err.message);
}

#[tokio::test]
async fn redirect_to_a_local_file_is_refused() {
    let server = TestServer::start().await;
    let fetcher = fetcher_trusting_only_the_server();
    let err = fetcher
        .fetch_page(&server.url("/to-file"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(
        err.message
            .starts_with("page at file:///etc/passwd (redirected from"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("is not an http:// or https:// URL"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn redirect_hops_within_the_limit_still_work_under_the_guard() {
    let server = TestServer::start().await;
    let fetcher = fetcher_trusting_only_the_server();
    let page = fetcher.fetch_page(&server.url("/hop/3")).await.unwrap();
    assert_eq!(page.final_url, server.url("/hop/0"));
}
