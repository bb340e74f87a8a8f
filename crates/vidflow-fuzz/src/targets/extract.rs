//! The HTML extractor on a fetched page: decoding, the readability pass, metadata, images.

use vidflow_core::Page;

use crate::Target;

pub(super) const TARGET: Target = Target {
    name: "extract",
    about: "vidflow_extract::extract on a page body (HTML, XHTML, plain text; charsets)",
    run,
    tokens: &[
        b"<div>",
        b"</div>",
        b"<p>",
        b"</p>",
        b"<article>",
        b"<table><tr><td>",
        b"<b><i>",
        b"</b>",
        b"<img src=\"/a.jpg\" srcset=\"/b.jpg 2x, /c.jpg 800w\">",
        b"<picture><source srcset=\"/s.webp 1\xc3\xa9\"><img></picture>",
        b"<img src=\"data:image/svg+xml,<svg width='5' viewBox='0 0 9 9'>\">",
        b"<meta charset=\"utf-16\">",
        b"<meta charset=shift_jis>",
        b"<base href=\"../x/\">",
        b"<html lang=\"",
        b"<script>",
        b"</script>",
        b"<!--",
        b"-->",
        b"<svg>",
        b"<math>",
        b"<template>",
        b"<noscript>",
        b"&amp;",
        b"&#x10ffff;",
        b"&#0;",
        b"<![CDATA[",
        b"<meta property=\"article:published_time\" content=\"",
        b"<h1>",
        b"<br/>",
        b"<a href=\"javascript:x\">",
        b"<form><input>",
        b"<select><option>",
        b"<title>",
        b"</title>",
        b"width=\"99999999999\"",
        b"\r\n",
        b"\xef\xbb\xbf",
    ],
    nest: &[
        b"<div>",
        b"<span>",
        b"<b>",
        b"<a>",
        b"<table>",
        b"<ul><li>",
        b"<blockquote>",
        b"<p>",
        b"<i><b>",
        b"<svg><g>",
    ],
    max_len: 4 << 20,
    test_inputs: 300,
};

/// The content type and charset come from the input's length, so that the corpus (which
/// is real HTML) also exercises the other paths without a header in every file.
fn run(input: &[u8]) {
    let content_type = match input.len() % 11 {
        0 => "text/plain",
        1 => "",
        2 => "application/octet-stream",
        3 => "application/xhtml+xml",
        _ => "text/html",
    };
    let charset = match input.len() % 13 {
        0 => Some("windows-1252"),
        1 => Some("utf-16le"),
        2 => Some("no-such-charset"),
        3 => Some("shift_jis"),
        _ => None,
    };
    let page = Page {
        requested: "https://fuzz.example/a/page.html".into(),
        final_url: "https://fuzz.example/a/page.html".into(),
        content_type: content_type.into(),
        charset: charset.map(Into::into),
        body: input.to_vec(),
    };
    if let Ok(article) = vidflow_extract::extract(&page) {
        assert!(
            !article.text.trim().is_empty(),
            "an article with no text was accepted"
        );
        for image in &article.images {
            assert!(
                url::Url::parse(&image.url).is_ok(),
                "image URL {:?} is not absolute",
                image.url
            );
        }
    }
}
