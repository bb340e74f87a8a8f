//! The in-process tier: a byte-bounded moka cache.

use std::sync::Arc;
use std::time::Duration;

use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use vidflow_core::{Clock, ContentKey};

use crate::{BackendStats, BoxFuture, CacheBackend, CacheError};

/// Stage outputs kept in memory, bounded by their total size in bytes.
///
/// Values are immutable shared buffers that never leave the process, so unlike the disk tier
/// there is nothing that could alter them behind our back and no checksum to verify.
/// Eviction is least-recently-used: the outputs of the run just made are the likeliest to be
/// asked for again, so recency is a better guide here than moka's default frequency sketch,
/// which would refuse a fresh entry in favour of older, more often read ones.
#[derive(Clone)]
pub struct MemoryCache {
    entries: Cache<ContentKey, Stored>,
    max_bytes: u64,
    ttl: Option<Duration>,
    clock: Clock,
}

/// A value and when it was written, by the cache's [`Clock`]: moka's own time-to-live runs on
/// a clock nobody can move, so it only frees memory, and expiry as readers see it is decided
/// here.
#[derive(Clone)]
struct Stored {
    written_ms: u64,
    value: Arc<[u8]>,
}

impl std::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCache")
            .field("max_bytes", &self.max_bytes)
            .field("ttl", &self.ttl)
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

/// Bytes an entry counts against the bound: its key and its value.
fn weight(key: &ContentKey, stored: &Stored) -> u32 {
    let bytes = key.as_str().len() as u64 + stored.value.len() as u64;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl MemoryCache {
    /// A cache holding at most `max_bytes` of keys and values, each entry living at most
    /// `ttl` after it was written (`None`: until evicted).
    pub fn new(max_bytes: u64, ttl: Option<Duration>) -> Self {
        Self::with_clock(max_bytes, ttl, Clock::system())
    }

    /// [`new`](Self::new) with the clock that dates entries and decides their expiry (a
    /// test's manual [`Clock`] moves time without waiting for it).
    pub fn with_clock(max_bytes: u64, ttl: Option<Duration>, clock: Clock) -> Self {
        let mut builder = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(weight)
            .eviction_policy(EvictionPolicy::lru());
        if let Some(ttl) = ttl {
            builder = builder.time_to_live(ttl);
        }
        MemoryCache {
            entries: builder.build(),
            max_bytes,
            ttl,
            clock,
        }
    }

    /// The entry under `key` unless it has outlived the TTL by the cache's clock (then it is
    /// dropped).
    fn live(&self, key: &ContentKey) -> Option<Arc<[u8]>> {
        let stored = self.entries.get(key)?;
        let age = self.clock.now_ms().saturating_sub(stored.written_ms);
        if self
            .ttl
            .is_some_and(|ttl| u128::from(age) >= ttl.as_millis())
        {
            self.entries.invalidate(key);
            return None;
        }
        Some(stored.value)
    }

    /// The bound this cache was built with.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Looks `key` up without going through a future.
    pub fn get_now(&self, key: &ContentKey) -> Option<Vec<u8>> {
        self.live(key).map(|v| v.to_vec())
    }

    /// Stores `value` under `key` without going through a future. A value larger than the
    /// whole bound is not kept.
    pub fn put_now(&self, key: &ContentKey, value: &[u8]) {
        let stored = Stored {
            written_ms: self.clock.now_ms(),
            value: Arc::from(value),
        };
        self.entries.insert(key.clone(), stored);
    }

    /// Entries and bytes held now, after moka has applied pending evictions and expiries.
    pub fn stats_now(&self) -> BackendStats {
        // moka applies evictions lazily; settle them so the numbers are exact.
        self.entries.run_pending_tasks();
        BackendStats {
            entries: self.entries.entry_count(),
            bytes: self.entries.weighted_size(),
        }
    }
}

impl CacheBackend for MemoryCache {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn contains<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Result<bool, CacheError>> {
        let found = self.live(key).is_some();
        Box::pin(async move { Ok(found) })
    }

    fn get<'a>(
        &'a self,
        key: &'a ContentKey,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, CacheError>> {
        let found = self.get_now(key);
        Box::pin(async move { Ok(found) })
    }

    fn put<'a>(
        &'a self,
        key: &'a ContentKey,
        value: &'a [u8],
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        self.put_now(key, value);
        Box::pin(async { Ok(()) })
    }

    fn remove<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Result<(), CacheError>> {
        self.entries.invalidate(key);
        Box::pin(async { Ok(()) })
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        self.entries.invalidate_all();
        self.entries.run_pending_tasks();
        Box::pin(async { Ok(()) })
    }

    fn stats(&self) -> BoxFuture<'_, Result<BackendStats, CacheError>> {
        let stats = self.stats_now();
        Box::pin(async move { Ok(stats) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> ContentKey {
        ContentKey::builder("test", 1)
            .param("n", n.to_string())
            .build()
    }

    #[test]
    fn bound_evicts_least_recently_used() {
        let cache = MemoryCache::new(4_000, None);
        let value = vec![7u8; 900];
        for n in 0..4 {
            cache.put_now(&key(n), &value);
        }
        // moka records inserts and reads in buffers; settle the inserts before the read.
        cache.entries.run_pending_tasks();
        // Touch key 0 so that key 1 is the least recently used.
        assert!(cache.get_now(&key(0)).is_some());
        cache.entries.run_pending_tasks();
        cache.put_now(&key(4), &value);
        let stats = cache.stats_now();
        assert!(stats.bytes <= 4_000, "{stats:?}");
        assert!(cache.get_now(&key(1)).is_none(), "LRU entry should be gone");
        assert!(cache.get_now(&key(0)).is_some());
        assert!(
            cache.get_now(&key(4)).is_some(),
            "newest entry must be kept"
        );
    }

    #[test]
    fn weight_counts_key_and_value() {
        let k = key(1);
        let v = Stored {
            written_ms: 0,
            value: Arc::from(&b"abc"[..]),
        };
        assert_eq!(weight(&k, &v) as usize, k.as_str().len() + 3);
    }
}
