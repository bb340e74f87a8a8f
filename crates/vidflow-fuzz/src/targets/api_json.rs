//! The API's JSON request body (`POST /v1/videos`), parsed and validated as the server does.

use bytes::Bytes;
use vidflow_core::config::VideoDefaults;
use vidflow_server::request::VideoRequest;

use crate::Target;

pub(super) const TARGET: Target = Target {
    name: "api_json",
    about: "vidflow_server::request::VideoRequest::from_json (deserialize + validate) on a body",
    run,
    tokens: &[
        b"\"url\":",
        b"\"html\":",
        b"\"script\":",
        b"\"options\":{",
        b"\"fps\":",
        b"\"size\":",
        b"\"crf\":",
        b"\"x264\":{\"keyint\":",
        b"\"max_seconds\":",
        b"\"voice\":",
        b"\"avatar\":",
        b"\"tune\":{",
        b"\"workflow_id\":",
        b"\"stop_after\":",
        b"\"idempotency_key\":",
        b"\"dry_run\":true",
        b"null",
        b"true",
        b"[]",
        b"{}",
        b"\"\\ud800\"",
        b"\"\\u0000\"",
        b"1e400",
        b"-0",
        b"\"file:///etc/passwd\"",
        b"\"http://127.0.0.1/\"",
        b",",
        b":",
    ],
    nest: &[b"[", b"{\"a\":", b"{\"options\":"],
    max_len: 1 << 20,
    test_inputs: 1500,
};

fn run(input: &[u8]) {
    let body = Bytes::copy_from_slice(input);
    let Ok(request) = VideoRequest::from_json(&body) else {
        return;
    };
    // What the server accepted must survive its own serialisation: jobs are stored and
    // re-read as JSON, and the idempotency check compares canonical hashes.
    let again = serde_json::to_vec(&request).expect("an accepted request serialises");
    let reread = VideoRequest::from_json(&Bytes::from(again))
        .unwrap_or_else(|e| panic!("an accepted request is refused when re-read: {e:?}"));
    assert_eq!(reread.canonical_hash(), request.canonical_hash());
    request
        .to_make_request(&VideoDefaults::default(), "out.mp4".into())
        .unwrap_or_else(|e| panic!("an accepted request cannot be made into a job: {e}"));
}
