//! Pages and images from local files: absolute and relative paths and `file://` URLs.

use std::path::{Component, Path, PathBuf};

use vidflow_core::{ErrorKind, Page};
use vidflow_fetch::{FetchPolicy, Fetcher};

const HTML: &str = "<!doctype html><html><head><meta charset=\"windows-1252\"><title>Saved</title>\
</head><body><p>A saved page.</p></body></html>";

fn fetcher() -> Fetcher {
    Fetcher::new(FetchPolicy::default()).unwrap()
}

fn file_url(path: &Path) -> String {
    url::Url::from_file_path(std::fs::canonicalize(path).unwrap())
        .unwrap()
        .to_string()
}

/// `path` written relative to the working directory (`../..` up to the root, then down),
/// so the test needs no change of directory, which would disturb tests running alongside.
fn relative_to_cwd(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let ups = cwd
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    let mut relative = PathBuf::new();
    for _ in 0..ups {
        relative.push("..");
    }
    relative.join(path.strip_prefix("/").unwrap())
}

fn saved_page(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn check_page(page: &Page, requested: &str, path: &Path) {
    assert_eq!(page.requested, requested);
    assert_eq!(page.final_url, file_url(path));
    assert_eq!(page.content_type, "text/html");
    assert_eq!(page.charset.as_deref(), Some("windows-1252"));
    assert_eq!(page.body, HTML.as_bytes());
}

#[tokio::test]
async fn absolute_path_relative_path_and_file_url_all_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = saved_page(dir.path(), "saved page.html", HTML.as_bytes());
    let f = fetcher();

    let absolute = path.to_str().unwrap();
    check_page(&f.fetch_page(absolute).await.unwrap(), absolute, &path);

    let relative = relative_to_cwd(&path);
    assert!(relative.is_relative());
    let relative = relative.to_str().unwrap();
    check_page(&f.fetch_page(relative).await.unwrap(), relative, &path);

    let url = file_url(&path);
    assert!(
        url.starts_with("file:///") && url.ends_with("saved%20page.html"),
        "{url}"
    );
    check_page(&f.fetch_page(&url).await.unwrap(), &url, &path);
}

#[tokio::test]
async fn local_files_are_typed_by_extension_then_content() {
    let dir = tempfile::tempdir().unwrap();
    let f = fetcher();
    let cases: [(&str, &[u8], &str); 5] = [
        ("notes.txt", b"Just some notes.", "text/plain"),
        ("page.htm", b"<p>short</p>", "text/html"),
        (
            "page.xhtml",
            b"<html xmlns=\"http://www.w3.org/1999/xhtml\"/>",
            "application/xhtml+xml",
        ),
        ("saved-without-extension", HTML.as_bytes(), "text/html"),
        (
            "README.md",
            b"# Title\n\nSome *markdown* text.",
            "text/plain",
        ),
    ];
    for (name, body, expected) in cases {
        let path = saved_page(dir.path(), name, body);
        let page = f.fetch_page(path.to_str().unwrap()).await.unwrap();
        assert_eq!(page.content_type, expected, "{name}");
        assert_eq!(page.body, body, "{name}");
    }
}

#[tokio::test]
async fn bad_local_inputs_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let f = fetcher();

    let missing = dir.path().join("nope.html");
    let err = f.fetch_page(missing.to_str().unwrap()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert_eq!(
        err.message,
        format!("file {} does not exist", missing.display())
    );

    let err = f.fetch_page("definitely/not/here.html").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(
        err.message.starts_with("file definitely/not/here.html (/"),
        "the absolute path is shown too: {}",
        err.message
    );
    assert!(err.message.ends_with("does not exist"), "{}", err.message);

    let err = f.fetch_page("example.com/some-article").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(
        err.message
            .ends_with("give the full URL (https://example.com/some-article)"),
        "{}",
        err.message
    );

    let err = f
        .fetch_page(dir.path().to_str().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(
        err.message.ends_with("is a directory, not a file"),
        "{}",
        err.message
    );

    let empty = saved_page(dir.path(), "empty.html", b"");
    let err = f.fetch_page(empty.to_str().unwrap()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert_eq!(err.message, format!("file {} is empty", empty.display()));

    let pdf = saved_page(
        dir.path(),
        "paper.pdf",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n\x00\x01",
    );
    let err = f.fetch_page(pdf.to_str().unwrap()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(
        err.message.contains("is neither HTML nor text"),
        "{}",
        err.message
    );

    let big = saved_page(dir.path(), "big.html", &vec![b'a'; 2048]);
    let small = Fetcher::new(FetchPolicy {
        max_bytes: 1024,
        ..FetchPolicy::default()
    })
    .unwrap();
    let err = small.fetch_page(big.to_str().unwrap()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(
        err.message.contains("is 2 KiB, over the 1 KiB limit"),
        "{}",
        err.message
    );

    let err = f
        .fetch_page("file://server/share/page.html")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(
        err.message.contains("does not name a local file"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn local_images_are_read_from_file_urls() {
    let dir = tempfile::tempdir().unwrap();
    // A PNG header declaring 2 × 2 pixels (the fetcher reads the header only; its size is
    // checked against limits.max_decoded_pixels).
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x02\0\0\0\x02\x08\x06\0\0\0-rest".to_vec();
    let path = saved_page(dir.path(), "figure.png", &png);
    let f = fetcher();
    assert_eq!(f.fetch_image(&file_url(&path)).await.unwrap(), png);

    let text = saved_page(dir.path(), "fake.png", b"not an image at all");
    let err = f.fetch_image(&file_url(&text)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(err.message.contains("is not an image"), "{}", err.message);

    // A local page may use local images; a web page may not.
    let local_page = f
        .fetch_page(
            saved_page(dir.path(), "p.html", HTML.as_bytes())
                .to_str()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        f.fetch_image_for_page(&local_page, &file_url(&path))
            .await
            .unwrap(),
        png
    );
    let web_page = Page {
        final_url: "https://example.org/article".into(),
        ..local_page
    };
    let err = f
        .fetch_image_for_page(&web_page, &file_url(&path))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(
        err.message
            .contains("a web page may not refer to files on this machine"),
        "{}",
        err.message
    );
}
