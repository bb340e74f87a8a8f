//! API keys: loaded from the configuration and a keys file, kept only as SHA-256 hashes,
//! compared in constant time, sent as `Authorization: Bearer KEY` or `X-API-Key: KEY`, or
//! (for `GET` and `HEAD` only) in the web page's session cookie, [`SESSION_COOKIE`].
//!
//! A request with a valid key carries a [`Caller`]: the key's id (a prefix of its hash,
//! never the key) that owns the jobs it submits, and whether it is an admin key, which
//! sees every job. Wrong keys are throttled per client address ([`AuthThrottle`]), and the
//! client address comes from a trusted proxy's headers when configured ([`ClientAddr`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// Middleware: 401 without a valid key (when keys are configured), 429 for an address
/// that sent too many wrong keys; tags the request with its [`Client`] for the rate
/// limiter and its [`Caller`] for job ownership.
pub async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip());
    let addr = peer.map(|ip| state.proxies.client_addr(ip, req.headers()));
    let client = if state.keys.is_empty() {
        req.extensions_mut().insert(Caller::anyone());
        None
    } else if is_open(req.uri().path(), &state.config.server) {
        None
    } else {
        if let Some(wait) = addr.and_then(|a| state.auth_throttle.blocked(a)) {
            return too_many_wrong_keys(wait);
        }
        let key = presented_key(req.headers()).or_else(|| cookie_key(req.method(), req.headers()));
        match key.and_then(|k| state.keys.identify(k)) {
            Some((client, caller)) => {
                req.extensions_mut().insert(caller);
                Some(client)
            }
            None => {
                if let Some(a) = addr {
                    state.auth_throttle.failed(a);
                }
                let mut resp = unauthorized().into_response();
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"vidflow\""),
                );
                return resp;
            }
        }
    };
    let client = client.unwrap_or_else(|| addr.map_or(Client::Unknown, Client::Ip));
    req.extensions_mut().insert(client);
    next.run(req).await
}

fn too_many_wrong_keys(wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    ApiError {
        retry_after: Some(secs),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_auth_failures",
            format!(
                "too many requests with a wrong API key from this address; try again in {secs} s"
            ),
        )
    }
    .into_response()
}

/// Counts wrong keys per client address in one-minute windows: past the limit, the
/// address gets 429 until its window ends, whatever key it sends. Memory is bounded: the
/// table is emptied of ended windows when it grows.
#[derive(Debug)]
pub struct AuthThrottle {
    per_minute: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Addresses tracked before ended windows are swept out.
const THROTTLE_SWEEP_AT: usize = 10_000;

impl AuthThrottle {
    /// Allows `per_minute` wrong keys per address per minute; 0 turns it off.
    pub fn new(per_minute: u32) -> AuthThrottle {
        AuthThrottle {
            per_minute,
            window: Duration::from_secs(60),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// How long `addr` must wait, when it used up its wrong keys.
    pub fn blocked(&self, addr: IpAddr) -> Option<Duration> {
        if self.per_minute == 0 {
            return None;
        }
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (start, count) = *seen.get(&addr)?;
        let left = self.window.checked_sub(start.elapsed())?;
        (count >= self.per_minute).then_some(left)
    }

    /// Records a wrong key from `addr`.
    pub fn failed(&self, addr: IpAddr) {
        if self.per_minute == 0 {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= THROTTLE_SWEEP_AT {
            let window = self.window;
            seen.retain(|_, (start, _)| start.elapsed() < window);
        }
        let now = Instant::now();
        let entry = seen.entry(addr).or_insert((now, 0));
        if entry.0.elapsed() >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

/// The proxies whose forwarding headers are believed (`server.trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<ipnet::IpNet>,
}

impl TrustedProxies {
    /// Parses addresses and CIDR ranges; a bad entry is an error naming it.
    pub fn from_config(cfg: &ServerConfig) -> Result<TrustedProxies, VidflowError> {
        let nets = cfg
            .trusted_proxies
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        VidflowError::bad_input(format!(
                            "invalid server.trusted_proxies entry '{entry}': give an IP address or a CIDR range like 10.0.0.0/8"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { nets })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the
    /// last address in `Forwarded` (or else `X-Forwarded-For`) that is not itself a
    /// trusted proxy. Entries a client wrote (to the left) are never reached past an
    /// untrusted hop, so they cannot be forged.
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for(headers);
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) => {
                    client = *ip;
                    if !self.trusts(*ip) {
                        break;
                    }
                }
                // An unreadable hop ends the trusted chain at the last address known.
                None => break,
            }
        }
        client
    }
}

/// The `for=` hops of `Forwarded` (RFC 7239), else those of `X-Forwarded-For`, in order;
/// `None` for a hop that is no IP address (`unknown`, obfuscated names).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<Option<IpAddr>> = headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_hop(v.trim().trim_matches('"')))
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| parse_hop(hop.trim()))
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:80`, `[::1]`, `[::1]:80` or `::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = hop.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse().ok())
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
    fn admin_keys_are_keys_that_see_everything() {
        let cfg = ServerConfig {
            api_keys: vec!["user".into()],
            admin_keys: vec!["boss".into()],
            ..ServerConfig::default()
        };
        let keys = KeySet::from_config(&cfg).unwrap();
        let (_, user) = keys.identify("user").unwrap();
        let (_, boss) = keys.identify("boss").unwrap();
        assert!(!user.admin && boss.admin);
        assert_ne!(user.key_id, boss.key_id);
        let id = user.key_id.clone().unwrap();
        assert_eq!(id.len(), 16);
        assert!(!id.contains("user"));
    }

    #[test]
    fn wrong_keys_are_throttled_per_address() {
        let throttle = AuthThrottle::new(3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(throttle.blocked(a).is_none());
            throttle.failed(a);
        }
        let wait = throttle.blocked(a).expect("blocked after 3 wrong keys");
        assert!(wait <= Duration::from_secs(60));
        assert!(throttle.blocked(b).is_none(), "another address is not");
        assert!(AuthThrottle::new(0).blocked(a).is_none());
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let cfg = ServerConfig {
            trusted_proxies: vec!["10.0.0.0/8".into(), "192.0.2.9".into()],
            ..ServerConfig::default()
        };
        let proxies = TrustedProxies::from_config(&cfg).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7, 10.1.1.1"),
        );
        // From a trusted proxy: the last hop that is not a proxy; the forged 6.6.6.6 is
        // left of an untrusted hop and never reached.
        assert_eq!(proxies.client_addr(ip("10.0.0.2"), &h), ip("203.0.113.7"));
        // From anyone else: the header is ignored.
        assert_eq!(
            proxies.client_addr(ip("198.51.100.1"), &h),
            ip("198.51.100.1")
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::FORWARDED,
            HeaderValue::from_static("for=\"[2001:db8::1]:4711\";proto=https, for=192.0.2.9"),
        );
        assert_eq!(proxies.client_addr(ip("192.0.2.9"), &h), ip("2001:db8::1"));
        // Off by default.
        let none = TrustedProxies::from_config(&ServerConfig::default()).unwrap();
        assert_eq!(none.client_addr(ip("10.0.0.2"), &h), ip("10.0.0.2"));
        let bad = ServerConfig {
            trusted_proxies: vec!["not-an-ip".into()],
            ..ServerConfig::default()
        };
        assert!(
            TrustedProxies::from_config(&bad)
                .unwrap_err()
                .message
                .contains("not-an-ip")
        );
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
