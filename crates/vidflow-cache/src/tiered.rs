//! Tiers stacked fastest first, with per-tier hit and miss counters.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{debug, warn};
use vidflow_core::ContentKey;

use crate::{BackendStats, CacheBackend, CacheError, DiskCache, MemoryCache};

/// A value found in the cache, and the tier that had it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The stored bytes, verified by the tier.
    pub bytes: Vec<u8>,
    /// Name of the tier that had them (`"memory"`, `"disk"`, ...).
    pub backend: &'static str,
}

/// Hits and misses of one tier since the cache was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BackendCounters {
    /// The tier's name, the metrics `backend` label.
    pub backend: &'static str,
    /// Look-ups this tier answered.
    pub hits: u64,
    /// Look-ups that reached this tier and found nothing there (errors included).
    pub misses: u64,
    /// Failed calls: errors the tier returned plus those it absorbed itself (a Redis
    /// outage); feeds `cache_errors_total`.
    pub errors: u64,
}

/// Hits and misses of every tier, in tier order; feeds `cache_hits_total` and
/// `cache_misses_total`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CacheCounters {
    /// One entry per tier, fastest first.
    pub backends: Vec<BackendCounters>,
}

impl CacheCounters {
    /// Hits of the tier named `backend` (0 if there is none).
    pub fn hits(&self, backend: &str) -> u64 {
        self.find(backend).map_or(0, |c| c.hits)
    }

    /// Misses of the tier named `backend` (0 if there is none).
    pub fn misses(&self, backend: &str) -> u64 {
        self.find(backend).map_or(0, |c| c.misses)
    }

    /// Failed calls of the tier named `backend` (0 if there is none).
    pub fn errors(&self, backend: &str) -> u64 {
        self.find(backend).map_or(0, |c| c.errors)
    }

    fn find(&self, backend: &str) -> Option<&BackendCounters> {
        self.backends.iter().find(|c| c.backend == backend)
    }
}

struct Tier {
    backend: Arc<dyn CacheBackend>,
    hits: AtomicU64,
    misses: AtomicU64,
    errors: AtomicU64,
}

impl Tier {
    fn new(backend: Arc<dyn CacheBackend>) -> Self {
        Tier {
            backend,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }
}

/// Tiers in order (memory, disk, redis): `get` looks them up in order and fills the faster
/// tiers on a hit; `put` writes all of them.
///
/// The cache is an optimisation and must never fail a job, so a tier's error is logged and
/// treated as a miss on that tier (on `get`) or skipped (on `put`).
pub struct TieredCache {
    tiers: Vec<Tier>,
}

impl std::fmt::Debug for TieredCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredCache")
            .field("tiers", &self.backends())
            .finish()
    }
}

impl TieredCache {
    /// Stacks `tiers`, fastest first.
    pub fn new(tiers: Vec<Arc<dyn CacheBackend>>) -> Self {
        TieredCache {
            tiers: tiers.into_iter().map(Tier::new).collect(),
        }
    }

    /// Adds `backend` as the slowest tier (Redis after memory and disk).
    pub fn with_tier(mut self, backend: Arc<dyn CacheBackend>) -> Self {
        self.tiers.push(Tier::new(backend));
        self
    }

    /// A cache with no tiers (`--no-cache`): every get misses, put does nothing.
    pub fn disabled() -> Self {
        TieredCache::new(Vec::new())
    }

    /// The embedded default: memory bounded by `memory_max_bytes` in front of a disk store in
    /// `dir`, both with `ttl`.
    pub fn embedded(
        memory_max_bytes: u64,
        dir: &Path,
        ttl: Option<Duration>,
        disk_max_bytes: Option<u64>,
    ) -> Result<Self, CacheError> {
        let disk = DiskCache::open(dir, ttl, disk_max_bytes)?;
        Ok(TieredCache::new(vec![
            Arc::new(MemoryCache::new(memory_max_bytes, ttl)),
            Arc::new(disk),
        ]))
    }

    /// The cache `config` asks for: nothing when disabled, else memory and a disk store in
    /// `dir` (the caller's default when `cache.dir` is unset), then the shared Redis tier
    /// when `cache.redis_url` is set. Fails for a disk folder that cannot be opened or
    /// Redis settings the client cannot use (both bad input).
    pub fn from_config(
        config: &vidflow_core::config::CacheConfig,
        default_dir: &Path,
    ) -> Result<Self, CacheError> {
        if !config.enabled {
            return Ok(TieredCache::disabled());
        }
        let dir = config
            .dir
            .clone()
            .unwrap_or_else(|| default_dir.to_path_buf());
        let ttl = (config.ttl > 0).then(|| Duration::from_secs(config.ttl));
        let max = (config.max_bytes > 0).then_some(config.max_bytes);
        let mut cache = TieredCache::embedded(config.memory_max_bytes, &dir, ttl, max)?;
        // The shared tier goes last: memory and disk answer first, and a Redis hit fills them.
        if let Some(options) = crate::RedisOptions::from_config(config) {
            cache = cache.with_tier(Arc::new(crate::RedisCache::open(options)?));
        }
        Ok(cache)
    }

    /// Whether the tier named `backend` holds `key`: `None` when there is no such tier or
    /// it cannot answer. Lets a worker check that a result reached the shared tier before
    /// it reports its task done.
    pub async fn contains_in(&self, backend: &str, key: &ContentKey) -> Option<bool> {
        let tier = self.tiers.iter().find(|t| t.backend.name() == backend)?;
        tier.backend.contains(key).await.ok()
    }

    /// Stores `value` under `key` in the tier named `backend` only; false when there is no
    /// such tier or it could not store it. Lets a worker copy a result it holds locally to
    /// the shared tier once that is back.
    pub async fn put_in(&self, backend: &str, key: &ContentKey, value: &[u8]) -> bool {
        let Some(tier) = self.tiers.iter().find(|t| t.backend.name() == backend) else {
            return false;
        };
        match tier.backend.put(key, value).await {
            Ok(()) => true,
            Err(err) => {
                tier.errors.fetch_add(1, Ordering::Relaxed);
                warn!(%key, backend, error = %err, "cache tier could not store an entry");
                false
            }
        }
    }

    /// Whether there is any tier at all.
    pub fn is_enabled(&self) -> bool {
        !self.tiers.is_empty()
    }

    /// Names of the tiers, fastest first.
    pub fn backends(&self) -> Vec<&'static str> {
        self.tiers.iter().map(|t| t.backend.name()).collect()
    }

    /// Looks `key` up tier by tier; on a hit copies the bytes into every faster tier.
    pub async fn get(&self, key: &ContentKey) -> Option<Hit> {
        for (i, tier) in self.tiers.iter().enumerate() {
            let name = tier.backend.name();
            match tier.backend.get(key).await {
                Ok(Some(bytes)) => {
                    tier.hits.fetch_add(1, Ordering::Relaxed);
                    debug!(%key, backend = name, bytes = bytes.len(), "cache hit");
                    for faster in &self.tiers[..i] {
                        if let Err(err) = faster.backend.put(key, &bytes).await {
                            warn!(
                                %key,
                                backend = faster.backend.name(),
                                error = %err,
                                "could not copy a cache hit into a faster tier"
                            );
                        }
                    }
                    return Some(Hit {
                        bytes,
                        backend: name,
                    });
                }
                Ok(None) => {
                    tier.misses.fetch_add(1, Ordering::Relaxed);
                }
                Err(err) => {
                    tier.misses.fetch_add(1, Ordering::Relaxed);
                    tier.errors.fetch_add(1, Ordering::Relaxed);
                    warn!(%key, backend = name, error = %err, "cache tier failed; treating as a miss");
                }
            }
        }
        None
    }

    /// The first tier that holds `key`, judged by index lookups alone (no bytes read, no
    /// counters touched): for plans that say what a job would take from the cache.
    pub async fn contains(&self, key: &ContentKey) -> Option<&'static str> {
        for tier in &self.tiers {
            if let Ok(true) = tier.backend.contains(key).await {
                return Some(tier.backend.name());
            }
        }
        None
    }

    /// Stores `value` under `key` in every tier.
    pub async fn put(&self, key: &ContentKey, value: &[u8]) {
        for tier in &self.tiers {
            if let Err(err) = tier.backend.put(key, value).await {
                tier.errors.fetch_add(1, Ordering::Relaxed);
                warn!(%key, backend = tier.backend.name(), error = %err, "cache tier could not store an entry");
            }
        }
    }

    /// Looks `key` up and decodes the bytes with [`vidflow_core::codec::decode`]. Bytes that
    /// do not decode (a type changed without a stage version bump) are removed from every
    /// tier and reported as a miss.
    pub async fn get_decoded<T: DeserializeOwned>(
        &self,
        key: &ContentKey,
    ) -> Option<(T, &'static str)> {
        let hit = self.get(key).await?;
        match vidflow_core::codec::decode(&hit.bytes) {
            Ok(value) => Some((value, hit.backend)),
            Err(err) => {
                warn!(%key, backend = hit.backend, error = %err, "cached value does not decode; discarding it");
                if let Err(err) = self.remove(key).await {
                    warn!(%key, error = %err, "could not remove an undecodable cache entry");
                }
                None
            }
        }
    }

    /// Encodes `value` with [`vidflow_core::codec::encode`] and stores it in every tier.
    pub async fn put_encoded<T: Serialize>(&self, key: &ContentKey, value: &T) {
        match vidflow_core::codec::encode(value) {
            Ok(bytes) => self.put(key, &bytes).await,
            Err(err) => warn!(%key, error = %err, "value could not be encoded for the cache"),
        }
    }

    /// Deletes `key` from every tier; tries them all and returns the first error.
    pub async fn remove(&self, key: &ContentKey) -> Result<(), CacheError> {
        let mut first_error = None;
        for tier in &self.tiers {
            if let Err(err) = tier.backend.remove(key).await {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Hits and misses per tier since the cache was built.
    pub fn counters(&self) -> CacheCounters {
        CacheCounters {
            backends: self
                .tiers
                .iter()
                .map(|t| BackendCounters {
                    backend: t.backend.name(),
                    hits: t.hits.load(Ordering::Relaxed),
                    misses: t.misses.load(Ordering::Relaxed),
                    errors: t.errors.load(Ordering::Relaxed) + t.backend.failures(),
                })
                .collect(),
        }
    }

    /// Entries and bytes per tier, fastest first. A tier that cannot say is logged and left
    /// out.
    pub async fn stats(&self) -> Vec<(String, BackendStats)> {
        let mut out = Vec::with_capacity(self.tiers.len());
        for tier in &self.tiers {
            match tier.backend.stats().await {
                Ok(stats) => out.push((tier.backend.name().to_owned(), stats)),
                Err(err) => {
                    warn!(backend = tier.backend.name(), error = %err, "cache tier could not report its size")
                }
            }
        }
        out
    }

    /// Empties every tier; tries them all and returns the first error.
    pub async fn clear(&self) -> Result<(), CacheError> {
        let mut first_error = None;
        for tier in &self.tiers {
            if let Err(err) = tier.backend.clear().await {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The tiered cache is where workflows keep their stages' outputs.
impl vidflow_core::StageCache for TieredCache {
    fn get<'a>(
        &'a self,
        key: &'a ContentKey,
    ) -> vidflow_core::BoxFuture<'a, Option<vidflow_core::CachedValue>> {
        Box::pin(async move {
            self.get(key).await.map(|hit| vidflow_core::CachedValue {
                bytes: hit.bytes,
                backend: hit.backend,
            })
        })
    }

    fn put<'a>(&'a self, key: &'a ContentKey, value: &'a [u8]) -> vidflow_core::BoxFuture<'a, ()> {
        Box::pin(self.put(key, value))
    }

    fn contains<'a>(
        &'a self,
        key: &'a ContentKey,
    ) -> vidflow_core::BoxFuture<'a, Option<&'static str>> {
        Box::pin(self.contains(key))
    }

    fn remove<'a>(&'a self, key: &'a ContentKey) -> vidflow_core::BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(err) = self.remove(key).await {
                warn!(%key, error = %err, "could not remove an unreadable cache entry");
            }
        })
    }

    fn is_enabled(&self) -> bool {
        self.is_enabled()
    }
}
