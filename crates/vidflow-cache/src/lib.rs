//! Content-addressed cache of stage outputs: memory (moka), disk (cacache, checksummed),
//! Redis (shared, compressed, checked) and tiers of them.
//!
//! Every stage output in vidflow is stored under its [`ContentKey`], a hash of what produced
//! it, so a second run of the same job finds everything it needs here and recomputes nothing.
//! A cache is a stack of [`CacheBackend`] tiers, fastest first:
//!
//! * [`MemoryCache`]: moka, bounded in bytes, optional TTL;
//! * [`DiskCache`]: cacache, each entry wrapped in a header with a blake3 checksum, so a
//!   truncated, altered or expired entry is deleted and reported as a miss, never returned;
//! * [`RedisCache`]: the tier shared by several processes or machines; values zstd-compressed,
//!   framed with a checked header, split into parts when large, written with a TTL under a
//!   key prefix; a corrupt, partial or foreign value is deleted and reported as a miss, and
//!   an unreachable or slow Redis is logged once, counted, skipped for a back-off interval
//!   and used again by itself once it answers.
//!
//! [`TieredCache`] looks a key up tier by tier, copies a hit into the faster tiers, writes
//! every tier on `put`, counts hits, misses and errors per tier for the metrics, and never
//! fails a job: a tier's error is logged and counted as a miss.
//!
//! ```
//! use std::sync::Arc;
//! use vidflow_cache::{DiskCache, MemoryCache, TieredCache};
//! use vidflow_core::ContentKey;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let disk = DiskCache::open(dir.path(), None, Some(1 << 30)).unwrap();
//! let cache = TieredCache::new(vec![
//!     Arc::new(MemoryCache::new(64 << 20, None)),
//!     Arc::new(disk),
//! ]);
//!
//! let key = ContentKey::builder("fetch", 1).param("url", "https://example.org/").build();
//! assert!(cache.get(&key).await.is_none());
//! cache.put(&key, b"<html>...</html>").await;
//!
//! let hit = cache.get(&key).await.unwrap();
//! assert_eq!(hit.bytes, b"<html>...</html>");
//! assert_eq!(hit.backend, "memory");
//! assert_eq!(cache.counters().hits("memory"), 1);
//! assert_eq!(cache.counters().misses("disk"), 1);
//! # });
//! ```
//!
//! With Redis as the third tier (a second machine with an empty disk then gets its hits
//! from Redis, which fill its local tiers):
//!
//! ```no_run
//! use std::sync::Arc;
//! use vidflow_cache::{RedisCache, RedisOptions, TieredCache};
//! use vidflow_core::ContentKey;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let mut options = RedisOptions::new("redis://127.0.0.1:6379/0");
//! options.ttl = Some(std::time::Duration::from_secs(7 * 24 * 3600));
//! let cache = TieredCache::embedded(64 << 20, dir.path(), None, None)
//!     .unwrap()
//!     .with_tier(Arc::new(RedisCache::open(options).unwrap()));
//!
//! let key = ContentKey::builder("speak", 1).param("text", "Hello").build();
//! if let Some(hit) = cache.get(&key).await {
//!     println!("{} bytes from {}", hit.bytes.len(), hit.backend); // "redis" the first time
//! }
//! println!("redis errors so far: {}", cache.counters().errors("redis"));
//! # });
//! ```

#![warn(missing_docs)]

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use vidflow_core::ContentKey;

mod disk;
mod entry;
mod error;
mod memory;
mod redis;
pub mod stored;
mod tiered;

pub use disk::{DiskCache, GcReport};
pub use error::CacheError;
pub use memory::MemoryCache;
pub use redis::{RedisCache, RedisHealth, RedisOptions, redis_client};
pub use tiered::{BackendCounters, CacheCounters, Hit, TieredCache};

/// A boxed, sendable future borrowing from its receiver; what [`CacheBackend`] methods return
/// so that the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Size of what one tier holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendStats {
    /// Number of entries.
    pub entries: u64,
    /// Bytes they take (as the tier counts them: memory weighs keys and values, disk the
    /// stored blobs including their headers).
    pub bytes: u64,
}

/// One storage tier of the cache.
///
/// Object-safe, so tiers can be stacked as `Arc<dyn CacheBackend>` in a [`TieredCache`].
/// Implementations must never return bytes they cannot vouch for: an entry that fails its
/// checks is deleted and reported as `Ok(None)`.
pub trait CacheBackend: Send + Sync {
    /// Short name of the tier (`"memory"`, `"disk"`, `"redis"`), used as the metrics
    /// `backend` label.
    fn name(&self) -> &'static str;

    /// The verified bytes stored under `key`, or `None` when there are none (or they were
    /// corrupt or expired, in which case they are deleted and a warning is logged).
    fn get<'a>(&'a self, key: &'a ContentKey)
    -> BoxFuture<'a, Result<Option<Vec<u8>>, CacheError>>;

    /// Stores `value` under `key`, replacing what was there.
    fn put<'a>(
        &'a self,
        key: &'a ContentKey,
        value: &'a [u8],
    ) -> BoxFuture<'a, Result<(), CacheError>>;

    /// Whether an entry is stored under `key`, without reading or verifying it (for plans
    /// and estimates: a later `get` may still find it expired or corrupt). The default reads
    /// the value; tiers with a cheaper index lookup override it.
    fn contains<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Result<bool, CacheError>> {
        Box::pin(async move { Ok(self.get(key).await?.is_some()) })
    }

    /// Deletes the entry under `key`, if any.
    fn remove<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Result<(), CacheError>>;

    /// Deletes every entry.
    fn clear(&self) -> BoxFuture<'_, Result<(), CacheError>>;

    /// How many entries and bytes the tier holds.
    fn stats(&self) -> BoxFuture<'_, Result<BackendStats, CacheError>>;

    /// Calls that failed inside the tier and were answered as a miss (or, for writes,
    /// dropped) instead of returning an error; [`TieredCache`] adds them to the errors it
    /// counts. Tiers that report every failure as an `Err` keep the default, 0.
    fn failures(&self) -> u64 {
        0
    }
}
