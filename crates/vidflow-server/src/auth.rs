//! API keys: loaded from the configuration and a keys file, kept only as SHA-256 hashes,
//! compared in constant time, sent as `Authorization: Bearer KEY` or `X-API-Key: KEY`.
//!
//! A request with a valid key carries a [`Caller`]: the key's id (a prefix of its hash,
//! never the key) that owns the jobs it submits, and whether it is an admin key, which
//! sees every job. Wrong keys are throttled per client address ([`AuthThrottle`]), and the
//! client address comes from a trusted proxy's headers when configured ([`ClientAddr`]).

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

/// The accepted keys, as hashes, each marked admin or not. Empty means auth is off.
#[derive(Clone, Default)]
pub struct KeySet {
    hashes: Arc<Vec<([u8; 32], bool)>>,
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
        let mut entries: Vec<(String, String, bool)> = cfg
            .api_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("server.api_keys[{i}]"), k.clone(), false))
            .collect();
        if let Some(path) = &cfg.keys_file {
            entries.extend(
                read_keys_file(path)?
                    .into_iter()
                    .map(|(origin, key)| (origin, key, false)),
            );
        }
        entries.extend(
            cfg.admin_keys
                .iter()
                .enumerate()
                .map(|(i, k)| (format!("server.admin_keys[{i}]"), k.clone(), true)),
        );
        let mut hashes = Vec::with_capacity(entries.len());
        for (origin, entry, admin) in entries {
            let hash = parse_key(&entry).map_err(|e| {
                VidflowError::bad_input(format!("invalid API key in {origin}: {e}"))
            })?;
            hashes.push((hash, admin));
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
        self.identify(presented).map(|(client, _)| client)
    }

    /// The client and caller a presented key stands for, if it is one of ours (every
    /// stored hash compared in constant time). A key listed as admin anywhere is admin.
    pub fn identify(&self, presented: &str) -> Option<(Client, Caller)> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = subtle::Choice::from(0);
        let mut admin = subtle::Choice::from(0);
        for (h, is_admin) in self.hashes.iter() {
            let hit = h.ct_eq(&digest);
            found |= hit;
            admin |= hit & subtle::Choice::from(u8::from(*is_admin));
        }
        let prefix: [u8; 8] = digest[..8].try_into().expect("8 bytes");
        bool::from(found).then(|| {
            (
                Client::Key(prefix),
                Caller {
                    key_id: Some(hex::encode(prefix)),
                    admin: bool::from(admin),
                },
            )
        })
    }
}

/// Who made a request, for job ownership: put on every request that passed
/// [`require_key`] (routes left open carry none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's id: hex of the first 8 bytes of its SHA-256 (never the key). `None` when
    /// auth is off.
    pub key_id: Option<String>,
    /// Sees and manages every job: an admin key, or anyone when auth is off.
    pub admin: bool,
}

impl Caller {
    /// Auth is off: one trust domain, every caller sees every job.
    pub fn anyone() -> Caller {
        Caller {
            key_id: None,
            admin: true,
        }
    }

    /// The owner recorded on jobs this caller submits.
    pub fn owner(&self) -> Option<String> {
        self.key_id.clone()
    }

    /// The owner a job list is narrowed to: `None` for a caller who sees every job.
    pub fn list_filter(&self) -> Option<String> {
        if self.admin {
            None
        } else {
            // A non-admin caller always has a key; an impossible id matches nothing.
            Some(self.key_id.clone().unwrap_or_else(|| "-".into()))
        }
    }

    /// True when this caller may read, follow, cancel and download `job`. Jobs with no
    /// owner (auth was off, or they predate owners) are for admins only.
    pub fn may_see(&self, job: &vidflow_jobs::Job) -> bool {
        self.admin || (self.key_id.is_some() && job.owner == self.key_id)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Caller, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(unauthorized)
    }
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid API key is required: send Authorization: Bearer KEY or X-API-Key: KEY",
    )
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

/// The key a request presents, from `Authorization: Bearer` or `X-API-Key`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
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
        || path == "/docs"
        || path.starts_with("/docs/")
        || (cfg.open_health && path.starts_with("/health/"))
        || (cfg.open_metrics && path == "/metrics")
}

/// Middleware: 401 without a valid key (when keys are configured); tags the request with
/// its [`Client`] for the rate limiter.
pub async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let client = if state.keys.is_empty() {
        req.extensions_mut().insert(Caller::anyone());
        None
    } else if is_open(req.uri().path(), &state.config.server) {
        None
    } else {
        match presented_key(req.headers()).and_then(|k| state.keys.identify(k)) {
            Some((client, caller)) => {
                req.extensions_mut().insert(caller);
                Some(client)
            }
            None => {
                let mut resp = unauthorized().into_response();
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
}
