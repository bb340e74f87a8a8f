//! The fetcher against a real HTTP server on 127.0.0.1: the SSRF guard, the limits, and
//! every way a fetch can go wrong, each with its error kind and a message that names it.

mod common;

use std::time::Duration;

use common::{PAGE_HTML, PNG, PNG_BASE64, TestServer};
use vidflow_core::{ErrorKind, VidflowError};
use vidflow_fetch::{FetchPolicy, Fetcher};

/// A fetcher for the loopback test server.
fn local_fetcher() -> Fetcher {
    Fetcher::new(FetchPolicy {
        allow_private_network: true,
        ..FetchPolicy::default()
    })
    .unwrap()
}

fn assert_error(err: &VidflowError, kind: ErrorKind, fragments: &[&str]) {
    assert_eq!(err.kind, kind, "wrong kind for: {}", err.message);
    for fragment in fragments {
        assert!(
            err.message.contains(fragment),
            "message {:?} lacks {:?}",
            err.message,
            fragment
        );
    }
}

#[tokio::test]
async fn default_policy_refuses_the_loopback_server() {
    let server = TestServer::start().await;
    let url = server.url("/page.html");
    let fetcher = Fetcher::new(FetchPolicy::default()).unwrap();
    let err = fetcher.fetch_page(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[
            &format!("refusing to fetch page at {url}"),
            "127.0.0.1 (loopback) is not a public address",
            "--allow-private-network",
        ],
    );
}

#[tokio::test]
async fn default_policy_refuses_a_name_that_resolves_to_loopback() {
    let server = TestServer::start().await;
    let url = format!("http://localhost:{}/page.html", server.addr.port());
    let err = Fetcher::new(FetchPolicy::default())
        .unwrap()
        .fetch_page(&url)
        .await
        .unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[
            &format!("refusing to fetch page at {url}"),
            "host localhost resolves only to non-public addresses",
            "--allow-private-network",
        ],
    );
}

#[tokio::test]
async fn default_policy_refuses_disguised_loopback_literals() {
    let server = TestServer::start().await;
    let port = server.addr.port();
    let fetcher = Fetcher::new(FetchPolicy::default()).unwrap();
    for (url, shown) in [
        // IPv4-mapped IPv6 is judged by the IPv4 inside.
        (
            format!("http://[::ffff:127.0.0.1]:{port}/page.html"),
            "::ffff:127.0.0.1 (loopback)",
        ),
        // The URL parser reads these as 127.0.0.1; the guard sees the parsed address.
        (
            format!("http://2130706433:{port}/page.html"),
            "127.0.0.1 (loopback)",
        ),
        (
            format!("http://0x7f.1:{port}/page.html"),
            "127.0.0.1 (loopback)",
        ),
        (format!("http://[::1]:{port}/page.html"), "::1 (loopback)"),
        (
            format!("http://0.0.0.0:{port}/page.html"),
            "0.0.0.0 (unspecified)",
        ),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "169.254.169.254 (link-local)",
        ),
        ("http://10.0.0.1/".to_owned(), "10.0.0.1 (private)"),
    ] {
        let err = fetcher.fetch_page(&url).await.unwrap_err();
        assert_error(
            &err,
            ErrorKind::BadInput,
            &[shown, "--allow-private-network"],
        );
    }
}

#[tokio::test]
async fn allowing_private_networks_fetches_the_page() {
    let server = TestServer::start().await;
    let url = server.url("/page.html");
    let page = local_fetcher().fetch_page(&url).await.unwrap();
    assert_eq!(page.requested, url);
    assert_eq!(page.final_url, url);
    assert_eq!(page.content_type, "text/html");
    assert_eq!(page.charset.as_deref(), Some("iso-8859-1"));
    assert_eq!(page.body, PAGE_HTML.as_bytes());

    // And by name, now that the guard is lifted.
    let by_name = format!("http://localhost:{}/page.html", server.addr.port());
    let page = local_fetcher().fetch_page(&by_name).await.unwrap();
    assert_eq!(page.body, PAGE_HTML.as_bytes());
}

#[tokio::test]
async fn plain_text_xhtml_and_untyped_html_are_accepted() {
    let server = TestServer::start().await;
    let fetcher = local_fetcher();
    let plain = fetcher.fetch_page(&server.url("/plain.txt")).await.unwrap();
    assert_eq!(plain.content_type, "text/plain");
    assert_eq!(plain.body, b"Plain words.");
    assert_eq!(plain.charset, None);

    let xhtml = fetcher.fetch_page(&server.url("/xhtml")).await.unwrap();
    assert_eq!(xhtml.content_type, "application/xhtml+xml");

    let untyped = fetcher.fetch_page(&server.url("/no-type")).await.unwrap();
    assert_eq!(untyped.content_type, "text/html");

    let err = fetcher
        .fetch_page(&server.url("/no-type-binary"))
        .await
        .unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &["has no usable Content-Type and its content is not HTML or text"],
    );
}

#[tokio::test]
async fn five_redirects_are_followed_and_six_are_refused() {
    let server = TestServer::start().await;
    let fetcher = local_fetcher();
    let page = fetcher.fetch_page(&server.url("/hop/5")).await.unwrap();
    assert_eq!(page.requested, server.url("/hop/5"));
    assert_eq!(page.final_url, server.url("/hop/0"));
    assert!(String::from_utf8_lossy(&page.body).contains("After the hops"));

    let start = server.url("/hop/6");
    let err = fetcher.fetch_page(&start).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[
            &format!("page at {start} redirected more than 5 times"),
            "too many redirects",
        ],
    );

    // The limit is the policy's.
    let strict = Fetcher::new(FetchPolicy {
        allow_private_network: true,
        max_redirects: 1,
        ..FetchPolicy::default()
    })
    .unwrap();
    assert!(strict.fetch_page(&server.url("/hop/1")).await.is_ok());
    let err = strict.fetch_page(&server.url("/hop/2")).await.unwrap_err();
    assert_error(&err, ErrorKind::BadInput, &["redirected more than 1 times"]);
}

#[tokio::test]
async fn bad_redirects_are_bad_input() {
    let server = TestServer::start().await;
    let fetcher = local_fetcher();
    let err = fetcher
        .fetch_page(&server.url("/to-file"))
        .await
        .unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[
            "page at file:///etc/passwd",
            &format!("redirected from {}", server.url("/to-file")),
            "is not an http:// or https:// URL",
        ],
    );
    let url = server.url("/no-location");
    let err = fetcher.fetch_page(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!(
            "page at {url} returned 302 Found without a Location header"
        )],
    );
}

#[tokio::test]
async fn client_errors_are_bad_input_and_server_errors_transient() {
    let server = TestServer::start().await;
    let fetcher = local_fetcher();
    for (path, status) in [("/missing", "404 Not Found"), ("/gone", "410 Gone")] {
        let url = server.url(path);
        let err = fetcher.fetch_page(&url).await.unwrap_err();
        assert_error(
            &err,
            ErrorKind::BadInput,
            &[&format!("page at {url} returned {status}")],
        );
    }
    for (path, status) in [
        ("/broken", "500 Internal Server Error"),
        ("/unavailable", "503 Service Unavailable"),
    ] {
        let url = server.url(path);
        let err = fetcher.fetch_page(&url).await.unwrap_err();
        assert_error(
            &err,
            ErrorKind::Transient,
            &[&format!("page at {url} returned {status}")],
        );
    }
}

#[tokio::test]
async fn non_html_content_is_refused() {
    let server = TestServer::start().await;
    let url = server.url("/doc.pdf");
    let err = local_fetcher().fetch_page(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!(
            "page at {url} is application/pdf, not HTML or text"
        )],
    );
    let url = server.url("/image.png");
    let err = local_fetcher().fetch_page(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &["is image/png, not HTML or text"],
    );
}

#[tokio::test]
async fn bodies_in_an_encoding_not_asked_for_are_refused() {
    let server = TestServer::start().await;
    let url = server.url("/brotli");
    let err = local_fetcher().fetch_page(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!("page at {url} is sent with Content-Encoding 'br'")],
    );
}

#[tokio::test]
async fn a_body_trickling_in_is_cut_off_at_the_fetch_deadline() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(FetchPolicy {
        allow_private_network: true,
        timeout: Duration::from_secs(1),
        ..FetchPolicy::default()
    })
    .unwrap();
    let started = std::time::Instant::now();
    let err = fetcher
        .fetch_page(&server.url("/trickle"))
        .await
        .unwrap_err();
    assert_error(
        &err,
        ErrorKind::Transient,
        &["did not finish loading within 1 s"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn empty_pages_are_refused() {
    let server = TestServer::start().await;
    let url = server.url("/empty");
    let err = local_fetcher().fetch_page(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!("page at {url} is empty")],
    );
    let url = server.url("/blank");
    let err = local_fetcher().fetch_page(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!("page at {url} is empty (only whitespace)")],
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let server = TestServer::start().await;
    let fetcher = local_fetcher();
    // Declared length over the limit: refused before reading.
    let url = server.url("/huge");
    let err = fetcher.fetch_page(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!("page at {url} is 11 MiB, over the 10 MiB limit")],
    );
    // No declared length and no end: reading must stop at the limit. (If it did not, the
    // fetch would run into the 20 s timeout and come back Transient.)
    let url = server.url("/endless");
    let started = std::time::Instant::now();
    let err = fetcher.fetch_page(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!("page at {url} is larger than the 10 MiB limit")],
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_smaller_limit_is_honoured() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(FetchPolicy {
        allow_private_network: true,
        max_bytes: 64,
        ..FetchPolicy::default()
    })
    .unwrap();
    let err = fetcher
        .fetch_page(&server.url("/page.html"))
        .await
        .unwrap_err();
    assert_error(&err, ErrorKind::BadInput, &["over the 64 bytes limit"]);
}

#[tokio::test]
async fn slow_servers_time_out_as_transient() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(FetchPolicy {
        allow_private_network: true,
        timeout: Duration::from_millis(300),
        ..FetchPolicy::default()
    })
    .unwrap();
    let url = server.url("/slow");
    let started = std::time::Instant::now();
    let err = fetcher.fetch_page(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::Transient,
        &[&format!(
            "page at {url} did not finish loading within 300 ms"
        )],
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_connection_lost_mid_transfer_is_transient() {
    let server = TestServer::start().await;
    let url = server.url("/cut");
    let err = local_fetcher().fetch_page(&url).await.unwrap_err();
    assert_error(&err, ErrorKind::Transient, &[&format!("page at {url}")]);
}

#[tokio::test]
async fn unreachable_hosts_are_bad_input() {
    // A port that was just free: nothing listens there now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/x");
    let err = local_fetcher().fetch_page(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!(
            "page at {url} is unreachable: connection to 127.0.0.1:{port} refused"
        )],
    );

    // `.invalid` never resolves (RFC 6761).
    let url = "http://no-such-host.invalid/article";
    let err = Fetcher::new(FetchPolicy::default())
        .unwrap()
        .fetch_page(url)
        .await
        .unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!(
            "page at {url} is unreachable: cannot resolve host no-such-host.invalid"
        )],
    );
}

#[tokio::test]
async fn malformed_inputs_are_bad_input() {
    let fetcher = Fetcher::new(FetchPolicy::default()).unwrap();
    let err = fetcher
        .fetch_page("ftp://example.org/page.html")
        .await
        .unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &["'ftp://example.org/page.html' uses the unsupported scheme 'ftp:'"],
    );
    let err = fetcher.fetch_page("http://").await.unwrap_err();
    assert_error(&err, ErrorKind::BadInput, &["'http://' is not a valid URL"]);
    let err = fetcher
        .fetch_page("http://exa mple.org/")
        .await
        .unwrap_err();
    assert_error(&err, ErrorKind::BadInput, &["is not a valid URL"]);
    let err = fetcher.fetch_page("   ").await.unwrap_err();
    assert_error(&err, ErrorKind::BadInput, &["no page given"]);
}

#[tokio::test]
async fn images_are_fetched_and_checked() {
    let server = TestServer::start().await;
    let fetcher = local_fetcher();
    assert_eq!(
        fetcher
            .fetch_image(&server.url("/image.png"))
            .await
            .unwrap(),
        PNG
    );
    // application/octet-stream: the bytes decide.
    assert_eq!(
        fetcher
            .fetch_image(&server.url("/octet.png"))
            .await
            .unwrap(),
        PNG
    );

    let url = server.url("/not-image");
    let err = fetcher.fetch_image(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!("image at {url} has no usable Content-Type")],
    );

    let url = server.url("/page.html");
    let err = fetcher.fetch_image(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!("image at {url} is text/html, not an image")],
    );

    let url = server.url("/big.png");
    let err = fetcher.fetch_image(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!("image at {url} is 9 MiB, over the 8 MiB limit")],
    );

    let url = server.url("/missing");
    let err = fetcher.fetch_image(&url).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[&format!("image at {url} returned 404 Not Found")],
    );
}

#[tokio::test]
async fn images_obey_the_ssrf_guard() {
    let server = TestServer::start().await;
    let url = server.url("/image.png");
    let err = Fetcher::new(FetchPolicy::default())
        .unwrap()
        .fetch_image(&url)
        .await
        .unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &[
            &format!("refusing to fetch image at {url}"),
            "--allow-private-network",
        ],
    );
}

#[tokio::test]
async fn data_urls_decode_to_images() {
    let fetcher = Fetcher::new(FetchPolicy::default()).unwrap();
    let base64 = format!("data:image/png;base64,{PNG_BASE64}");
    assert_eq!(fetcher.fetch_image(&base64).await.unwrap(), PNG);

    let svg =
        "data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%2F%3E";
    assert_eq!(
        fetcher.fetch_image(svg).await.unwrap(),
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
    );

    let err = fetcher
        .fetch_image("data:text/plain,hello")
        .await
        .unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &["data: URL data:text/plain,hello is text/plain, not an image"],
    );
    let err = fetcher
        .fetch_image("data:image/png;base64,***")
        .await
        .unwrap_err();
    assert_error(&err, ErrorKind::BadInput, &["is not valid base64"]);

    let small = Fetcher::new(FetchPolicy {
        max_image_bytes: 16,
        ..FetchPolicy::default()
    })
    .unwrap();
    let err = small.fetch_image(&base64).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::BadInput,
        &["holds 70 bytes, over the 16 bytes image limit"],
    );

    let err = fetcher
        .fetch_image("gopher://example.org/x.png")
        .await
        .unwrap_err();
    assert_error(&err, ErrorKind::BadInput, &["unsupported scheme 'gopher:'"]);
}

#[tokio::test]
async fn one_fetcher_serves_many_tasks_at_once() {
    let server = TestServer::start().await;
    let fetcher = local_fetcher();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let fetcher = fetcher.clone();
        let url = server.url(if i % 2 == 0 { "/page.html" } else { "/hop/2" });
        tasks.push(tokio::spawn(async move { fetcher.fetch_page(&url).await }));
    }
    for task in tasks {
        let page = task.await.unwrap().unwrap();
        assert_eq!(page.content_type, "text/html");
    }
}
