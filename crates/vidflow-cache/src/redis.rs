//! The shared tier: Redis, with checked, compressed, split values, and a breaker that keeps
//! an unreachable Redis from slowing jobs down.

pub(crate) mod frame;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisResult};
use tracing::{debug, info, warn};
use vidflow_core::ContentKey;
use vidflow_core::config::{CacheConfig, mask_url_password};

use crate::{BackendStats, BoxFuture, CacheBackend, CacheError};

/// Values at least this large are compressed and decompressed on Tokio's blocking pool,
/// so that a big render output does not hold up other tasks on the async workers.
const BLOCKING_FROM: usize = 256 * 1024;
/// Keys asked for per SCAN call.
const SCAN_COUNT: usize = 500;
/// The smallest part size: a head and a part header must fit with room for data.
const MIN_PART_BYTES: usize = 1024;

/// How to reach and use a Redis tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// `redis://[user:password@]host:port/db`, or `rediss://` for TLS.
    pub url: String,
    /// For `rediss://`: a PEM file of the certificate authorities to trust instead of the
    /// system's.
    pub ca_file: Option<std::path::PathBuf>,
    /// Prefix of every key written; `clear` and `stats` look at keys under it only.
    pub prefix: String,
    /// Largest single Redis value in bytes; bigger entries are split into parts.
    pub part_bytes: usize,
    /// Time limit on each Redis call; a slower answer counts as Redis being down.
    pub timeout: Duration,
    /// Expiry of every key written (`None`: no expiry).
    pub ttl: Option<Duration>,
    /// How long calls are answered as misses after Redis failed, before it is tried again.
    /// Doubles after each failed retry, up to [`max_retry_after`](Self::max_retry_after).
    pub retry_after: Duration,
    /// The longest wait between retries.
    pub max_retry_after: Duration,
}

impl RedisOptions {
    /// Options for `url` with the defaults of `vidflow.toml`: prefix `vidflow:`, 4 MiB
    /// parts, 500 ms per call, no TTL, retries after 1 s growing to 30 s.
    pub fn new(url: impl Into<String>) -> Self {
        RedisOptions {
            url: url.into(),
            ca_file: None,
            prefix: "vidflow:".into(),
            part_bytes: 4 * 1024 * 1024,
            timeout: Duration::from_millis(500),
            ttl: None,
            retry_after: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(30),
        }
    }

    /// The options `cache.redis_*` and `cache.ttl` ask for, or `None` when
    /// `cache.redis_url` is unset (no Redis tier).
    pub fn from_config(cache: &CacheConfig) -> Option<Self> {
        let url = cache.redis_url.as_deref().map(str::trim)?;
        if url.is_empty() {
            return None;
        }
        Some(RedisOptions {
            prefix: cache.redis_prefix.clone(),
            part_bytes: usize::try_from(cache.redis_part_bytes).unwrap_or(usize::MAX),
            timeout: Duration::from_millis(cache.redis_timeout_ms),
            ttl: (cache.ttl > 0).then(|| Duration::from_secs(cache.ttl)),
            ca_file: cache.redis_ca_file.clone(),
            ..RedisOptions::new(url)
        })
    }
}

/// A client for `url` (`redis://`, or `rediss://` over TLS). With `ca_file`, a `rediss://`
/// server's certificate must chain to one of the authorities in that PEM file rather than to
/// the system's; the queue and the cache both connect through this.
pub fn redis_client(url: &str, ca_file: Option<&std::path::Path>) -> Result<Client, String> {
    match ca_file {
        None => Client::open(url).map_err(|e| e.to_string()),
        Some(ca) => {
            if !url.trim_start().starts_with("rediss://") {
                return Err(format!(
                    "a CA file ({}) applies to rediss:// (TLS) URLs only",
                    ca.display()
                ));
            }
            let pem = std::fs::read(ca)
                .map_err(|e| format!("cannot read the CA file {}: {e}", ca.display()))?;
            Client::build_with_tls(
                url,
                ::redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                },
            )
            .map_err(|e| format!("the CA file {}: {e}", ca.display()))
        }
    }
}

/// Whether the tier reaches Redis now, and what its outages cost so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisHealth {
    /// False from a failed call until a later call succeeds.
    pub reachable: bool,
    /// Redis calls that failed or timed out.
    pub failures: u64,
    /// Calls answered as a miss (or dropped, for writes) without asking Redis, because it
    /// was down and not yet due for a retry.
    pub skipped: u64,
}

/// Stage outputs in Redis, shared by every vidflow process pointed at the same server.
///
/// Each entry is zstd-compressed and framed with a checked header (see the layout in the
/// source of `redis/frame.rs`): magic, format version, lengths, part count, a per-write
/// nonce and a blake3 checksum of key and payload. Entries larger than
/// [`part_bytes`](RedisOptions::part_bytes) are split into parts written before their head,
/// each carrying the nonce, so a reader never assembles pieces of two writes. A value that
/// fails any check (corrupt, partial, foreign) is deleted and reported as a miss. Every key
/// gets the TTL and lives under the prefix.
///
/// Redis is an optimisation, so during a job it never fails a call: every call runs under
/// [`timeout`](RedisOptions::timeout); the first failure marks the tier down (one warning,
/// counted in [`RedisHealth::failures`]); while down, calls are misses without touching the
/// network until a retry is due, and the first call that succeeds brings the tier back (one
/// message). `stats` and `clear`, which a person asks for, do report errors.
///
/// The connection is made lazily, inside the Tokio runtime of the first call.
#[derive(Clone)]
pub struct RedisCache {
    shared: Arc<Shared>,
}

struct Shared {
    client: Client,
    options: RedisOptions,
    /// The URL with its password masked, for messages.
    server: String,
    /// Made on first use and dropped after a failure, so that a retry starts afresh.
    connection: Mutex<Option<ConnectionManager>>,
    health: Mutex<Health>,
    failures: AtomicU64,
    skipped: AtomicU64,
}

#[derive(Debug)]
struct Health {
    /// Set while Redis counts as down.
    down_since: Option<Instant>,
    /// While down, no call goes to Redis before this instant.
    retry_at: Instant,
    /// The current wait between retries.
    backoff: Duration,
}

/// Why a Redis call produced no answer for the caller.
#[derive(Debug)]
enum CallError {
    /// Redis is down and not due for a retry; nothing was sent.
    Skipped,
    /// The call failed or timed out (counted, and the tier is now down).
    Failed(String),
    /// Redis answered WRONGTYPE: something other than a string sits under our key.
    WrongType,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("server", &self.shared.server)
            .field("prefix", &self.shared.options.prefix)
            .field("health", &self.health())
            .finish()
    }
}

/// The guards protect plain state that stays consistent at every step, so a poisoned lock
/// is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn part_name(name: &str, n: u32) -> String {
    format!("{name}:p{n}")
}

/// Whether a key under the prefix is a part (`…:p<digits>`) rather than a head. Content keys
/// are `stage-<hex>`, so a head never ends that way.
fn is_part_name(name: &[u8]) -> bool {
    let Some(at) = name.windows(2).rposition(|w| w == b":p") else {
        return false;
    };
    let digits = &name[at + 2..];
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// `text` with SCAN's glob characters escaped, to match it literally.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A number no other write of this key (here or in another process) uses.
fn fresh_nonce(key: &str) -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = blake3::Hasher::new();
    h.update(&nanos.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(&NEXT.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    h.update(key.as_bytes());
    u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"))
}

impl RedisCache {
    /// A tier for `options`. Checks the settings but does not connect: the first call does,
    /// so a Redis that is down when vidflow starts costs nothing but misses.
    ///
    /// Fails with [`CacheError::RedisSettings`] (a
    /// [`BadInput`](vidflow_core::ErrorKind::BadInput)) for a URL the client cannot use, an
    /// empty prefix (`clear` would empty the whole database), parts under 1 KiB or a zero
    /// timeout.
    pub fn open(options: RedisOptions) -> Result<Self, CacheError> {
        let server = mask_url_password(&options.url);
        let client = redis_client(&options.url, options.ca_file.as_deref()).map_err(|e| {
            CacheError::RedisSettings(format!("invalid cache.redis_url '{server}': {e}"))
        })?;
        if options.prefix.is_empty() {
            return Err(CacheError::RedisSettings(
                "cache.redis_prefix must not be empty: clearing the cache deletes every key \
                 under the prefix"
                    .into(),
            ));
        }
        if options.part_bytes < MIN_PART_BYTES {
            return Err(CacheError::RedisSettings(format!(
                "cache.redis_part_bytes is {}, it must be at least {MIN_PART_BYTES}",
                options.part_bytes
            )));
        }
        if options.timeout.is_zero() {
            return Err(CacheError::RedisSettings(
                "cache.redis_timeout_ms must be more than 0".into(),
            ));
        }
        let backoff = options.retry_after;
        Ok(RedisCache {
            shared: Arc::new(Shared {
                client,
                server,
                connection: Mutex::new(None),
                health: Mutex::new(Health {
                    down_since: None,
                    retry_at: Instant::now(),
                    backoff,
                }),
                failures: AtomicU64::new(0),
                skipped: AtomicU64::new(0),
                options,
            }),
        })
    }

    /// The options this tier was opened with.
    pub fn options(&self) -> &RedisOptions {
        &self.shared.options
    }

    /// Whether Redis is reachable now, and the failure and skip counts so far.
    pub fn health(&self) -> RedisHealth {
        RedisHealth {
            reachable: lock(&self.shared.health).down_since.is_none(),
            failures: self.shared.failures.load(Ordering::Relaxed),
            skipped: self.shared.skipped.load(Ordering::Relaxed),
        }
    }

    /// The Redis key of the head of `key`'s entry.
    fn name(&self, key: &ContentKey) -> String {
        format!("{}{}", self.shared.options.prefix, key.as_str())
    }

    /// True (and counted as a skip) while Redis is down and not due for a retry: lets a put
    /// skip compressing a value that would not be sent.
    fn resting(&self) -> bool {
        let h = lock(&self.shared.health);
        let resting = h.down_since.is_some() && Instant::now() < h.retry_at;
        if resting {
            self.shared.skipped.fetch_add(1, Ordering::Relaxed);
        }
        resting
    }

    /// A connection for one call (and whether the call is a retry while down), or
    /// [`CallError::Skipped`] when the call must not reach Redis. While down,
    /// the first caller after the retry time becomes the probe and pushes the retry time
    /// on, so concurrent callers keep skipping instead of all waiting on a dead server.
    /// `forced` calls (stats, clear) always go.
    fn connection(&self, forced: bool) -> Result<(ConnectionManager, bool), CallError> {
        let probe = {
            let mut h = lock(&self.shared.health);
            let now = Instant::now();
            match h.down_since {
                None => false,
                Some(_) if forced => true,
                Some(_) if now < h.retry_at => {
                    self.shared.skipped.fetch_add(1, Ordering::Relaxed);
                    return Err(CallError::Skipped);
                }
                Some(_) => {
                    h.retry_at = now + h.backoff;
                    true
                }
            }
        };
        let mut slot = lock(&self.shared.connection);
        if let Some(connection) = &*slot {
            return Ok((connection.clone(), probe));
        }
        let timeout = Some(self.shared.options.timeout);
        // No retries inside the manager: this tier has its own back-off, and a call must
        // not outlive its timeout retrying.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(0);
        match ConnectionManager::new_lazy_with_config(self.shared.client.clone(), config) {
            Ok(connection) => {
                *slot = Some(connection.clone());
                Ok((connection, probe))
            }
            Err(err) => {
                drop(slot);
                let reason = err.to_string();
                self.failed("connect", &reason, probe);
                Err(CallError::Failed(reason))
            }
        }
    }

    /// Runs one Redis call under the timeout and keeps the health state.
    async fn call<T, F, Fut>(&self, op: &'static str, forced: bool, f: F) -> Result<T, CallError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let (connection, probe) = self.connection(forced)?;
        let timeout = self.shared.options.timeout;
        match tokio::time::timeout(timeout, f(connection)).await {
            Ok(Ok(value)) => {
                self.succeeded();
                Ok(value)
            }
            Ok(Err(err)) if err.code() == Some("WRONGTYPE") => {
                // The server answered, so it is up; the value under the key is not ours.
                self.succeeded();
                Err(CallError::WrongType)
            }
            Ok(Err(err)) => {
                let reason = err.to_string();
                self.failed(op, &reason, probe);
                Err(CallError::Failed(reason))
            }
            Err(_) => {
                let reason = format!("no answer within {} ms", timeout.as_millis());
                self.failed(op, &reason, probe);
                Err(CallError::Failed(reason))
            }
        }
    }

    fn succeeded(&self) {
        let mut h = lock(&self.shared.health);
        if let Some(since) = h.down_since.take() {
            h.backoff = self.shared.options.retry_after;
            info!(
                server = %self.shared.server,
                down_for_ms = since.elapsed().as_millis() as u64,
                "Redis cache tier is reachable again"
            );
        }
    }

    fn failed(&self, op: &'static str, reason: &str, probe: bool) {
        self.shared.failures.fetch_add(1, Ordering::Relaxed);
        // The manager may be wedged on a half-open socket; the retry builds a fresh one.
        *lock(&self.shared.connection) = None;
        let options = &self.shared.options;
        let mut h = lock(&self.shared.health);
        let now = Instant::now();
        match h.down_since {
            None => {
                h.down_since = Some(now);
                h.backoff = options.retry_after;
                h.retry_at = now + h.backoff;
                warn!(
                    server = %self.shared.server,
                    op,
                    reason,
                    retry_in_ms = h.backoff.as_millis() as u64,
                    "Redis cache tier is unavailable; carrying on with the local tiers and \
                     trying Redis again later"
                );
            }
            Some(_) if probe => {
                h.backoff = (h.backoff * 2).min(options.max_retry_after.max(options.retry_after));
                h.retry_at = now + h.backoff;
                debug!(server = %self.shared.server, op, reason, retry_in_ms = h.backoff.as_millis() as u64, "Redis is still unavailable");
            }
            // A call that was in flight when the outage began: already reported.
            Some(_) => {}
        }
    }

    async fn get_value(&self, name: &str) -> Result<Option<Vec<u8>>, CallError> {
        let mut cmd = ::redis::cmd("GET");
        cmd.arg(name);
        self.call("read", false, move |mut c| async move {
            cmd.query_async::<Option<Vec<u8>>>(&mut c).await
        })
        .await
    }

    async fn set_value(&self, name: &str, value: &[u8]) -> Result<(), CallError> {
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(name).arg(value);
        if let Some(ttl) = self.shared.options.ttl {
            cmd.arg("PX").arg((ttl.as_millis() as u64).max(1));
        }
        self.call("write", false, move |mut c| async move {
            cmd.query_async::<()>(&mut c).await
        })
        .await
    }

    async fn delete(&self, names: Vec<Vec<u8>>, forced: bool) -> Result<(), CallError> {
        if names.is_empty() {
            return Ok(());
        }
        let mut cmd = ::redis::cmd("UNLINK");
        cmd.arg(names);
        self.call("delete", forced, move |mut c| async move {
            cmd.query_async::<()>(&mut c).await
        })
        .await
    }

    /// One page of the keys matching the glob `pattern`, and the cursor of the next (0 when
    /// the walk is complete).
    async fn scan_page(
        &self,
        op: &'static str,
        pattern: &str,
        cursor: u64,
        forced: bool,
    ) -> Result<(u64, Vec<Vec<u8>>), CallError> {
        let mut cmd = ::redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT);
        self.call(op, forced, move |mut c| async move {
            cmd.query_async::<(u64, Vec<Vec<u8>>)>(&mut c).await
        })
        .await
    }

    /// Every key matching the glob `pattern`.
    async fn scan_all(
        &self,
        op: &'static str,
        pattern: &str,
        forced: bool,
    ) -> Result<Vec<Vec<u8>>, CallError> {
        let mut all = Vec::new();
        let mut cursor = 0;
        loop {
            let (next, keys) = self.scan_page(op, pattern, cursor, forced).await?;
            all.extend(keys);
            if next == 0 {
                return Ok(all);
            }
            cursor = next;
        }
    }

    /// Deletes the head `name` and every part of it, found by SCAN.
    async fn delete_with_parts(&self, name: &str) {
        let pattern = format!("{}:p*", glob_escape(name));
        if let Ok(mut names) = self.scan_all("find parts", &pattern, false).await {
            names.push(name.as_bytes().to_vec());
            let _ = self.delete(names, false).await;
        }
    }

    /// Deletes an entry that failed its checks, with its parts (found by SCAN when the head
    /// was too damaged to say how many there are).
    async fn discard(
        &self,
        name: &str,
        part_count: Option<u32>,
        why: &(dyn std::fmt::Display + Sync),
    ) {
        warn!(key = name, reason = %why, "Redis cache entry failed its checks; deleting it");
        match part_count {
            Some(n) => {
                let mut names = vec![name.as_bytes().to_vec()];
                names.extend((1..=n).map(|n| part_name(name, n).into_bytes()));
                let _ = self.delete(names, false).await;
            }
            None => self.delete_with_parts(name).await,
        }
    }

    /// The verified payload under `key`, or `None` (a miss, Redis down, or a value that
    /// failed its checks and was deleted).
    async fn fetch(&self, key: &ContentKey) -> Option<Vec<u8>> {
        let name = self.name(key);
        // A second round only when a writer replaced the entry while we read its parts.
        for _ in 0..2 {
            let head_blob = match self.get_value(&name).await {
                Ok(Some(blob)) => blob,
                Ok(None) | Err(CallError::Skipped | CallError::Failed(_)) => return None,
                Err(CallError::WrongType) => {
                    self.discard(&name, None, &"not a string value").await;
                    return None;
                }
            };
            let head = match frame::parse_head(&head_blob, key.as_str()) {
                Ok(head) => head,
                Err(invalid) => {
                    self.discard(&name, None, &invalid).await;
                    return None;
                }
            };
            let mut pieces = head_blob[frame::HEAD_LEN..].to_vec();
            let mut bad_part = None;
            for n in 1..=head.part_count {
                match self.get_value(&part_name(&name, n)).await {
                    Ok(Some(part)) => match frame::part_piece(&part, head.nonce, n) {
                        Ok(piece) => pieces.extend_from_slice(piece),
                        Err(invalid) => {
                            bad_part = Some(invalid);
                            break;
                        }
                    },
                    Ok(None) => {
                        bad_part = Some(frame::Invalid::MissingPart(n));
                        break;
                    }
                    Err(CallError::WrongType) => {
                        bad_part = Some(frame::Invalid::ForeignPart(n));
                        break;
                    }
                    Err(CallError::Skipped | CallError::Failed(_)) => return None,
                }
            }
            if let Some(invalid) = bad_part {
                match self.get_value(&name).await {
                    // Another write replaced the head meanwhile: read the new entry.
                    Ok(Some(now))
                        if now.get(..frame::HEAD_LEN) != head_blob.get(..frame::HEAD_LEN) =>
                    {
                        continue;
                    }
                    Ok(Some(_)) => self.discard(&name, Some(head.part_count), &invalid).await,
                    _ => {}
                }
                return None;
            }
            let key_text = key.as_str().to_owned();
            let decoded = if pieces.len() >= BLOCKING_FROM {
                let head = head.clone();
                let head_prefix = head_blob[..frame::HEAD_LEN].to_vec();
                tokio::task::spawn_blocking(move || {
                    frame::finish(&head_prefix, &head, &key_text, &pieces)
                })
                .await
                .unwrap_or_else(|e| Err(frame::Invalid::Decompress(e.to_string())))
            } else {
                frame::finish(&head_blob, &head, &key_text, &pieces)
            };
            return match decoded {
                Ok(payload) => Some(payload),
                Err(invalid) => {
                    self.discard(&name, Some(head.part_count), &invalid).await;
                    None
                }
            };
        }
        None
    }

    /// Writes `value` under `key`: parts first, head last, so a reader finds either no head
    /// or one whose parts are all there.
    async fn store(&self, key: &ContentKey, value: &[u8]) {
        if self.resting() {
            return;
        }
        let name = self.name(key);
        let nonce = fresh_nonce(key.as_str());
        let part_bytes = self.shared.options.part_bytes;
        let frames = if value.len() >= BLOCKING_FROM {
            let owned = value.to_vec();
            let key_text = key.as_str().to_owned();
            tokio::task::spawn_blocking(move || frame::encode(&key_text, &owned, nonce, part_bytes))
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
        } else {
            frame::encode(key.as_str(), value, nonce, part_bytes)
        };
        let frames = match frames {
            Ok(frames) => frames,
            Err(err) => {
                warn!(%key, error = %err, "value could not be compressed for the Redis cache");
                return;
            }
        };
        for (part, n) in frames.parts.iter().zip(1u32..) {
            if self.set_value(&part_name(&name, n), part).await.is_err() {
                return;
            }
        }
        let _ = self.set_value(&name, &frames.head).await;
    }

    fn report(&self, op: &'static str, err: CallError) -> CacheError {
        let reason = match err {
            CallError::Skipped => "Redis is unavailable".to_owned(),
            CallError::Failed(reason) => reason,
            CallError::WrongType => "a key under the prefix holds a non-string value".to_owned(),
        };
        CacheError::Redis {
            op,
            server: self.shared.server.clone(),
            reason,
        }
    }

    fn prefix_pattern(&self) -> String {
        format!("{}*", glob_escape(&self.shared.options.prefix))
    }
}

impl CacheBackend for RedisCache {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn get<'a>(
        &'a self,
        key: &'a ContentKey,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, CacheError>> {
        Box::pin(async move { Ok(self.fetch(key).await) })
    }

    fn put<'a>(
        &'a self,
        key: &'a ContentKey,
        value: &'a [u8],
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            self.store(key, value).await;
            Ok(())
        })
    }

    fn contains<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Result<bool, CacheError>> {
        Box::pin(async move {
            let mut cmd = ::redis::cmd("EXISTS");
            cmd.arg(self.name(key));
            let found = self
                .call("look up", false, move |mut c| async move {
                    cmd.query_async::<u64>(&mut c).await
                })
                .await;
            Ok(matches!(found, Ok(n) if n > 0))
        })
    }

    fn remove<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            self.delete_with_parts(&self.name(key)).await;
            Ok(())
        })
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        Box::pin(async move {
            // SCAN, never KEYS: a shared Redis must not stall on a walk of its whole keyspace.
            let pattern = self.prefix_pattern();
            let mut cursor = 0;
            loop {
                let (next, keys) = self
                    .scan_page("clear", &pattern, cursor, true)
                    .await
                    .map_err(|e| self.report("clear", e))?;
                self.delete(keys, true)
                    .await
                    .map_err(|e| self.report("clear", e))?;
                if next == 0 {
                    return Ok(());
                }
                cursor = next;
            }
        })
    }

    fn stats(&self) -> BoxFuture<'_, Result<BackendStats, CacheError>> {
        Box::pin(async move {
            let op = "report its size";
            let pattern = self.prefix_pattern();
            let mut stats = BackendStats::default();
            let mut cursor = 0;
            loop {
                let (next, keys) = self
                    .scan_page(op, &pattern, cursor, true)
                    .await
                    .map_err(|e| self.report(op, e))?;
                if !keys.is_empty() {
                    stats.entries += keys.iter().filter(|k| !is_part_name(k)).count() as u64;
                    let mut pipe = ::redis::pipe();
                    for key in &keys {
                        pipe.cmd("STRLEN").arg(key);
                    }
                    let lengths = self
                        .call(op, true, move |mut c| async move {
                            pipe.query_async::<Vec<u64>>(&mut c).await
                        })
                        .await
                        .map_err(|e| self.report(op, e))?;
                    stats.bytes += lengths.iter().sum::<u64>();
                }
                if next == 0 {
                    return Ok(stats);
                }
                cursor = next;
            }
        })
    }

    fn failures(&self) -> u64 {
        self.shared.failures.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_are_told_from_heads() {
        assert!(is_part_name(b"vidflow:render-0a1b:p1"));
        assert!(is_part_name(b"vidflow:render-0a1b:p12"));
        assert!(!is_part_name(b"vidflow:render-0a1b"));
        assert!(!is_part_name(b"vidflow:render-0a1b:p"));
        assert!(!is_part_name(b"vidflow:p:render-0a1b"));
    }

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
        assert_eq!(glob_escape("vidflow:"), "vidflow:");
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let bad = |o: RedisOptions| RedisCache::open(o).unwrap_err().to_string();
        assert!(bad(RedisOptions::new("http://x")).contains("redis_url"));
        let mut o = RedisOptions::new("redis://127.0.0.1:1/");
        o.prefix.clear();
        assert!(bad(o).contains("redis_prefix"));
        let mut o = RedisOptions::new("redis://127.0.0.1:1/");
        o.part_bytes = 100;
        assert!(bad(o).contains("redis_part_bytes"));
    }

    #[test]
    fn options_follow_the_config() {
        let mut cfg = CacheConfig::default();
        assert_eq!(RedisOptions::from_config(&cfg), None);
        cfg.redis_url = Some("redis://cache:6379/2".into());
        cfg.ttl = 60;
        cfg.redis_timeout_ms = 250;
        let o = RedisOptions::from_config(&cfg).unwrap();
        assert_eq!(o.url, "redis://cache:6379/2");
        assert_eq!(o.ttl, Some(Duration::from_secs(60)));
        assert_eq!(o.timeout, Duration::from_millis(250));
        assert_eq!(o.prefix, cfg.redis_prefix);
        cfg.ttl = 0;
        assert_eq!(RedisOptions::from_config(&cfg).unwrap().ttl, None);
    }
}
