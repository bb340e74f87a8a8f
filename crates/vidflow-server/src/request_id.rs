//! Request ids: every request carries one, the client's `X-Request-Id` when it sends a
//! valid one, else a fresh one. It is echoed in the response, names the request's log
//! lines (a `request` span), and a job submitted by the request keeps it, so the job's
//! lines on this server and its tasks' lines on the workers name it too.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::ApiError;

/// The header, in both directions.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id accepted from a client: enough for a UUID or a trace id with a prefix,
/// short enough that a hostile client cannot flood every log line.
pub const MAX_LEN: usize = 128;

/// The id of the request being answered (a request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// True for ids safe to copy into logs and headers: 1 to [`MAX_LEN`] letters, digits and
/// `-_.:`.
pub fn is_valid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Middleware: takes or makes the request's id, runs the request in a `request` span
/// that names it, and echoes it in the response. A malformed `X-Request-Id` is a 400
/// naming the header, not silently replaced: the client meant to trace something.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = match req.headers().get(&HEADER) {
        Some(v) => match v.to_str().ok().filter(|s| is_valid(s)) {
            Some(s) => s.to_owned(),
            None => {
                let fresh = uuid::Uuid::new_v4().simple().to_string();
                let mut resp = ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!(
                        "invalid X-Request-Id: use 1 to {MAX_LEN} letters, digits, '-', '_', '.' or ':'"
                    ),
                )
                .into_response();
                echo(&mut resp, &fresh);
                return resp;
            }
        },
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let mut resp = next.run(req).instrument(span).await;
    echo(&mut resp, &id);
    resp
}

fn echo(resp: &mut Response, id: &str) {
    if let Ok(v) = HeaderValue::from_str(id) {
        resp.headers_mut().insert(HEADER, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(is_valid("req-1"));
        assert!(is_valid("0af7651916cd43dd8448eb211c80319c"));
        assert!(is_valid("trace:abc.def_1"));
        assert!(is_valid(&"a".repeat(MAX_LEN)));
        assert!(!is_valid(""));
        assert!(!is_valid(&"a".repeat(MAX_LEN + 1)));
        assert!(!is_valid("two words"));
        assert!(!is_valid("line\nbreak"));
        assert!(!is_valid("quote\""));
        assert!(!is_valid("é"));
    }
}
