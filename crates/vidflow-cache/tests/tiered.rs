//! Memory and tiered caches: round trips, fills, counters, disabled, failing tiers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use vidflow_cache::{
    BackendStats, BoxFuture, CacheBackend, CacheError, DiskCache, MemoryCache, TieredCache,
};
use vidflow_core::{Clock, ContentKey};

fn key(n: u32) -> ContentKey {
    ContentKey::builder("extract", 1)
        .param("n", n.to_string())
        .build()
}

#[tokio::test]
async fn memory_round_trip_remove_clear_stats() {
    let memory = MemoryCache::new(1 << 20, None);
    assert_eq!(memory.name(), "memory");
    assert_eq!(memory.get(&key(1)).await.unwrap(), None);
    memory.put(&key(1), b"one").await.unwrap();
    memory.put(&key(2), b"two!").await.unwrap();
    assert_eq!(memory.get(&key(1)).await.unwrap().unwrap(), b"one");
    let stats = memory.stats().await.unwrap();
    assert_eq!(stats.entries, 2);
    assert_eq!(
        stats.bytes,
        (key(1).as_str().len() + 3 + key(2).as_str().len() + 4) as u64
    );
    memory.remove(&key(1)).await.unwrap();
    assert_eq!(memory.get(&key(1)).await.unwrap(), None);
    memory.clear().await.unwrap();
    assert_eq!(memory.get(&key(2)).await.unwrap(), None);
    assert_eq!(memory.stats().await.unwrap(), BackendStats::default());
}

#[tokio::test]
async fn memory_entries_expire() {
    let (clock, hand) = Clock::manual();
    let ttl = Duration::from_secs(60);
    let memory = MemoryCache::with_clock(1 << 20, Some(ttl), clock);
    memory.put(&key(1), b"soon gone").await.unwrap();
    hand.advance(ttl - Duration::from_millis(1));
    assert!(memory.get(&key(1)).await.unwrap().is_some());
    assert!(memory.contains(&key(1)).await.unwrap());
    hand.advance(Duration::from_millis(1));
    assert!(!memory.contains(&key(1)).await.unwrap());
    assert_eq!(memory.get(&key(1)).await.unwrap(), None);
}

fn embedded(dir: &std::path::Path) -> (TieredCache, DiskCache) {
    let disk = DiskCache::open(dir, None, None).unwrap();
    let cache = TieredCache::new(vec![
        Arc::new(MemoryCache::new(1 << 20, None)),
        Arc::new(disk.clone()),
    ]);
    (cache, disk)
}

#[tokio::test]
async fn tiered_round_trip_writes_every_tier() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, disk) = embedded(dir.path());
    assert_eq!(cache.backends(), ["memory", "disk"]);
    assert!(cache.get(&key(1)).await.is_none());
    cache.put(&key(1), b"article").await;
    let hit = cache.get(&key(1)).await.unwrap();
    assert_eq!(
        (hit.bytes.as_slice(), hit.backend),
        (&b"article"[..], "memory")
    );
    assert_eq!(disk.get(&key(1)).await.unwrap().unwrap(), b"article");
    let stats = cache.stats().await;
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0].0, "memory");
    assert_eq!(stats[1].0, "disk");
    assert_eq!(stats[0].1.entries, 1);
    assert_eq!(stats[1].1.entries, 1);
}

#[tokio::test]
async fn disk_hit_fills_memory() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (first_run, _) = embedded(dir.path());
        first_run.put(&key(1), b"from an earlier run").await;
    }
    // A new process: empty memory, same disk.
    let (cache, _) = embedded(dir.path());
    let hit = cache.get(&key(1)).await.unwrap();
    assert_eq!(hit.backend, "disk");
    assert_eq!(hit.bytes, b"from an earlier run");
    let again = cache.get(&key(1)).await.unwrap();
    assert_eq!(again.backend, "memory");
    assert_eq!(again.bytes, b"from an earlier run");

    let counters = cache.counters();
    assert_eq!(counters.hits("memory"), 1);
    assert_eq!(counters.misses("memory"), 1);
    assert_eq!(counters.hits("disk"), 1);
    assert_eq!(counters.misses("disk"), 0);
}

#[tokio::test]
async fn counters_per_backend() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, _) = embedded(dir.path());
    for n in 0..3 {
        assert!(cache.get(&key(n)).await.is_none());
    }
    cache.put(&key(0), b"x").await;
    cache.get(&key(0)).await.unwrap();
    cache.get(&key(0)).await.unwrap();
    let counters = cache.counters();
    assert_eq!(counters.backends.len(), 2);
    assert_eq!(counters.backends[0].backend, "memory");
    assert_eq!((counters.hits("memory"), counters.misses("memory")), (2, 3));
    assert_eq!((counters.hits("disk"), counters.misses("disk")), (0, 3));
    assert_eq!(counters.hits("redis"), 0);
}

#[tokio::test]
async fn disabled_cache_never_hits() {
    let cache = TieredCache::disabled();
    assert!(!cache.is_enabled());
    cache.put(&key(1), b"ignored").await;
    assert!(cache.get(&key(1)).await.is_none());
    assert!(cache.stats().await.is_empty());
    assert!(cache.counters().backends.is_empty());
    cache.clear().await.unwrap();
}

#[tokio::test]
async fn clear_empties_every_tier() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, disk) = embedded(dir.path());
    for n in 0..4 {
        cache.put(&key(n), b"v").await;
    }
    cache.clear().await.unwrap();
    for n in 0..4 {
        assert!(cache.get(&key(n)).await.is_none());
    }
    assert_eq!(disk.stats().await.unwrap().entries, 0);
    for (_, stats) in cache.stats().await {
        assert_eq!(stats.entries, 0);
    }
}

#[tokio::test]
async fn corrupt_disk_entry_is_recomputed_through_the_tiers() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (cache, _) = embedded(dir.path());
        cache.put(&key(1), &[9u8; 3000]).await;
    }
    // Flip a byte of the one content file.
    let mut stack = vec![dir.path().join("content-v2")];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    assert_eq!(files.len(), 1);
    let mut bytes = std::fs::read(&files[0]).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&files[0], bytes).unwrap();

    let (cache, _) = embedded(dir.path());
    assert!(cache.get(&key(1)).await.is_none());
    cache.put(&key(1), &[9u8; 3000]).await;
    let (fresh, _) = embedded(dir.path());
    assert_eq!(fresh.get(&key(1)).await.unwrap().bytes, vec![9u8; 3000]);
}

#[tokio::test]
async fn encoded_values_round_trip_and_junk_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, disk) = embedded(dir.path());
    let article = vec!["Title".to_owned(), "First paragraph.".to_owned()];
    cache.put_encoded(&key(1), &article).await;
    let (back, backend) = cache.get_decoded::<Vec<String>>(&key(1)).await.unwrap();
    assert_eq!((back, backend), (article, "memory"));

    cache.put(&key(2), b"definitely not zstd").await;
    assert!(cache.get_decoded::<Vec<String>>(&key(2)).await.is_none());
    assert_eq!(
        disk.get(&key(2)).await.unwrap(),
        None,
        "junk removed from disk"
    );
}

/// A tier that always fails, as an unreachable Redis would.
struct Broken {
    calls: AtomicUsize,
}

impl Broken {
    fn error(&self) -> CacheError {
        self.calls.fetch_add(1, Ordering::Relaxed);
        CacheError::Io {
            op: "reach",
            path: "broken".into(),
            source: std::io::Error::other("connection refused"),
        }
    }
}

impl CacheBackend for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }
    fn get<'a>(&'a self, _: &'a ContentKey) -> BoxFuture<'a, Result<Option<Vec<u8>>, CacheError>> {
        let err = self.error();
        Box::pin(async move { Err(err) })
    }
    fn put<'a>(&'a self, _: &'a ContentKey, _: &'a [u8]) -> BoxFuture<'a, Result<(), CacheError>> {
        let err = self.error();
        Box::pin(async move { Err(err) })
    }
    fn remove<'a>(&'a self, _: &'a ContentKey) -> BoxFuture<'a, Result<(), CacheError>> {
        let err = self.error();
        Box::pin(async move { Err(err) })
    }
    fn clear(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        let err = self.error();
        Box::pin(async move { Err(err) })
    }
    fn stats(&self) -> BoxFuture<'_, Result<BackendStats, CacheError>> {
        let err = self.error();
        Box::pin(async move { Err(err) })
    }
}

#[tokio::test]
async fn a_failing_tier_is_a_miss_not_a_failure() {
    let broken = Arc::new(Broken {
        calls: AtomicUsize::new(0),
    });
    let memory = Arc::new(MemoryCache::new(1 << 20, None));
    let cache = TieredCache::new(vec![broken.clone(), memory.clone()]);
    cache.put(&key(1), b"still cached").await;
    let hit = cache.get(&key(1)).await.unwrap();
    assert_eq!(hit.backend, "memory");
    assert_eq!(hit.bytes, b"still cached");
    assert_eq!(cache.counters().misses("broken"), 1);
    assert_eq!(cache.counters().hits("memory"), 1);
    // Only the working tier reports stats; clear tries every tier and reports the failure.
    let stats = cache.stats().await;
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].0, "memory");
    assert!(cache.clear().await.is_err());
    assert!(
        memory.get(&key(1)).await.unwrap().is_none(),
        "clear went on past the failure"
    );
    // get (1) + fill after the hit (1) + put (1) + stats (1) + clear (1).
    assert_eq!(broken.calls.load(Ordering::Relaxed), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tiered_access_to_many_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, _) = embedded(dir.path());
    let cache = Arc::new(cache);
    let mut tasks = Vec::new();
    for t in 0..16u32 {
        let cache = cache.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..8u32 {
                let k = key(n);
                let value = format!("value of {n}").into_bytes();
                if (t + n).is_multiple_of(3) {
                    cache.put(&k, &value).await;
                }
                if let Some(hit) = cache.get(&k).await {
                    assert_eq!(hit.bytes, value);
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for n in 0..8u32 {
        assert_eq!(
            cache.get(&key(n)).await.unwrap().bytes,
            format!("value of {n}").into_bytes()
        );
    }
}
