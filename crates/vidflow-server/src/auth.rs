//! API keys: loaded from the configuration and a keys file, kept only as SHA-256 hashes,
//! compared in constant time, sent as `Authorization: Bearer KEY` or `X-API-Key: KEY`, or
//! (for `GET` and `HEAD` only) in the web page's session cookie, [`SESSION_COOKIE`].

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower_governor::GovernorError;
use tower_governor::key_extractor::KeyExtractor;
use vidflow_core::{ServerConfig, VidflowError};

use crate::AppState;
use crate::error::ApiError;

/// The accepted keys, as hashes. Empty means auth is off.
#[derive(Clone, Default)]
pub struct KeySet {
    hashes: Arc<Vec<[u8; 32]>>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeySet({} keys)", self.hashes.len())
    }
}

/// Who a request is, for rate limiting: its key when auth is on, else its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    /// The first bytes of the key's hash.
    Key([u8; 8]),
    /// The peer's address.
    Ip(IpAddr),
    /// A request without a peer address (in-process calls).
    Unknown,
}

impl KeySet {
    /// Keys from `server.api_keys` and `server.keys_file` (one per line, `#` comments).
    /// Each is plain text or `sha256:<64 hex digits>`.
    pub fn from_config(cfg: &ServerConfig) -> Result<KeySet, VidflowError> {
        let mut entries: Vec<(String, String)> = cfg
            .api_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("server.api_keys[{i}]"), k.clone()))
            .collect();
        if let Some(path) = &cfg.keys_file {
            entries.extend(read_keys_file(path)?);
        }
        let mut hashes = Vec::with_capacity(entries.len());
        for (origin, entry) in entries {
            hashes.push(parse_key(&entry).map_err(|e| {
                VidflowError::bad_input(format!("invalid API key in {origin}: {e}"))
            })?);
        }
        Ok(KeySet {
            hashes: Arc::new(hashes),
        })
    }

    /// True when no key is configured (auth off).
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The client a presented key belongs to, if it is one of ours. Every stored hash is
    /// compared, in constant time, whatever matches.
    pub fn verify(&self, presented: &str) -> Option<Client> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = subtle::Choice::from(0);
        for h in self.hashes.iter() {
            found |= h.ct_eq(&digest);
        }
        bool::from(found).then(|| Client::Key(digest[..8].try_into().expect("8 bytes")))
    }
}

fn read_keys_file(path: &Path) -> Result<Vec<(String, String)>, VidflowError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        VidflowError::bad_input(format!("cannot read keys file {}: {e}", path.display()))
    })?;
    Ok(text
        .lines()
        .enumerate()
        .map(|(n, line)| (n, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(n, line)| {
            (
                format!("{} line {}", path.display(), n + 1),
                line.to_owned(),
            )
        })
        .collect())
}

fn parse_key(entry: &str) -> Result<[u8; 32], String> {
    match entry.strip_prefix("sha256:") {
        Some(hex_digest) => {
            let bytes = hex::decode(hex_digest.trim())
                .map_err(|_| "after sha256: give 64 hexadecimal digits".to_owned())?;
            bytes
                .try_into()
                .map_err(|_| "after sha256: give 64 hexadecimal digits".to_owned())
        }
        None if entry.is_empty() => Err("empty key".into()),
        None => Ok(Sha256::digest(entry.as_bytes()).into()),
    }
}

/// The web page's session cookie (`POST /v1/session`): the key, HttpOnly and
/// SameSite=Strict, for the elements that cannot send headers (`<video>`, `<track>`,
/// `<img>`, `EventSource`).
pub const SESSION_COOKIE: &str = "vidflow_session";

/// The key in the session cookie, taken only for reads: SameSite=Strict already keeps
/// other sites from sending it, and refusing it for anything that changes state means a
/// forged request could not act even if a browser sent it.
fn cookie_key<'a>(method: &axum::http::Method, headers: &'a HeaderMap) -> Option<&'a str> {
    if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        return None;
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
        .filter(|k| !k.is_empty())
}

/// The key a request presents, from `Authorization: Bearer` or `X-API-Key`.
pub(crate) fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, key) = v.trim().split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(key.trim());
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Paths any client may call: the documentation always; health and metrics when the
/// configuration leaves them open.
fn is_open(path: &str, cfg: &ServerConfig) -> bool {
    path == "/openapi.json"
        || vidflow_web::is_page(path)
        || path == "/docs"
        || path.starts_with("/docs/")
        || (cfg.open_health && path.starts_with("/health/"))
        || (cfg.open_metrics && path == "/metrics")
}

/// Middleware: 401 without a valid key (when keys are configured); tags the request with
/// its [`Client`] for the rate limiter.
pub async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let client = if state.keys.is_empty() || is_open(req.uri().path(), &state.config.server) {
        None
    } else {
        let key = presented_key(req.headers()).or_else(|| cookie_key(req.method(), req.headers()));
        match key.and_then(|k| state.keys.verify(k)) {
            Some(client) => Some(client),
            None => {
                let mut resp = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "a valid API key is required: send Authorization: Bearer KEY or X-API-Key: KEY",
                )
                .into_response();
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"vidflow\""),
                );
                return resp;
            }
        }
    };
    let client = client.unwrap_or_else(|| {
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(Client::Unknown, |ci| Client::Ip(ci.0.ip()))
    });
    req.extensions_mut().insert(client);
    next.run(req).await
}

/// Rate-limit key: the [`Client`] that [`require_key`] put on the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientKeyExtractor;

impl KeyExtractor for ClientKeyExtractor {
    type Key = Client;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<Client, GovernorError> {
        Ok(req
            .extensions()
            .get::<Client>()
            .copied()
            .unwrap_or(Client::Unknown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_hashed_keys_verify_and_others_do_not() {
        let hashed = hex::encode(Sha256::digest(b"second-key"));
        let cfg = ServerConfig {
            api_keys: vec!["first-key".into(), format!("sha256:{hashed}")],
            ..ServerConfig::default()
        };
        let keys = KeySet::from_config(&cfg).unwrap();
        assert!(keys.verify("first-key").is_some());
        assert!(keys.verify("second-key").is_some());
        assert_ne!(keys.verify("first-key"), keys.verify("second-key"));
        assert!(keys.verify("third-key").is_none());
        assert!(keys.verify("").is_none());
    }

    #[test]
    fn keys_file_comments_and_bad_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys");
        std::fs::write(&file, "# ops\nfrom-file\n\n").unwrap();
        let cfg = ServerConfig {
            keys_file: Some(file.clone()),
            ..ServerConfig::default()
        };
        assert!(
            KeySet::from_config(&cfg)
                .unwrap()
                .verify("from-file")
                .is_some()
        );
        std::fs::write(&file, "sha256:xyz\n").unwrap();
        let err = KeySet::from_config(&cfg).unwrap_err();
        assert!(err.message.contains("line 1"), "{}", err.message);
    }

    #[test]
    fn keys_come_from_either_header() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(presented_key(&h), Some("abc"));
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_static("def"));
        assert_eq!(presented_key(&h), Some("def"));
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(presented_key(&h), None);
    }

    #[test]
    fn the_session_cookie_counts_for_reads_only() {
        use axum::http::Method;
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; vidflow_session=abc; other=1"),
        );
        assert_eq!(cookie_key(&Method::GET, &h), Some("abc"));
        assert_eq!(cookie_key(&Method::HEAD, &h), Some("abc"));
        assert_eq!(cookie_key(&Method::POST, &h), None);
        assert_eq!(cookie_key(&Method::DELETE, &h), None);
        h.insert(header::COOKIE, HeaderValue::from_static("vidflow_session="));
        assert_eq!(cookie_key(&Method::GET, &h), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("vidflow_sessionx=abc"),
        );
        assert_eq!(cookie_key(&Method::GET, &h), None);
    }
}
