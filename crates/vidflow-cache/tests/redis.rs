//! The Redis tier against a real `redis-server` started by each test (or the one named by
//! `VIDFLOW_TEST_REDIS_URL`), with values inspected and damaged through a raw client.

use std::sync::Arc;
use std::time::Duration;

use redis::Commands;
use vidflow_cache::{CacheBackend, DiskCache, MemoryCache, RedisCache, RedisOptions, TieredCache};
use vidflow_core::ContentKey;
use vidflow_redis_test::{TestRedis, unique_prefix};

fn key(stage: &str, n: u32) -> ContentKey {
    ContentKey::builder(stage, 1)
        .param("n", n.to_string())
        .build()
}

/// Bytes zstd cannot shrink, so that a value of this length really needs its parts.
fn noise(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = *blake3::hash(&(len as u64).to_le_bytes()).as_bytes();
    while out.len() < len {
        block = *blake3::hash(&block).as_bytes();
        out.extend_from_slice(&block);
    }
    out.truncate(len);
    out
}

fn options(redis: &TestRedis, label: &str) -> RedisOptions {
    let mut o = RedisOptions::new(redis.url());
    o.prefix = unique_prefix(label);
    o.part_bytes = 1024;
    o.ttl = Some(Duration::from_secs(3600));
    o
}

fn raw(redis: &TestRedis) -> redis::Connection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Every key under `prefix`, by SCAN.
fn keys_under(con: &mut redis::Connection, prefix: &str) -> Vec<String> {
    let mut keys = con
        .scan_match::<_, String>(format!("{prefix}*"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    keys.sort();
    keys
}

fn name(o: &RedisOptions, k: &ContentKey) -> String {
    format!("{}{}", o.prefix, k.as_str())
}

#[tokio::test]
async fn small_and_multi_part_values_round_trip_with_a_ttl_on_every_key() {
    let redis = TestRedis::start().unwrap();
    let o = options(&redis, "round-trip");
    let cache = RedisCache::open(o.clone()).unwrap();
    let small = b"a small stage output".to_vec();
    let big = noise(10_000);
    let (k_small, k_big) = (key("script", 1), key("render", 2));

    assert_eq!(cache.get(&k_small).await.unwrap(), None);
    cache.put(&k_small, &small).await.unwrap();
    cache.put(&k_big, &big).await.unwrap();
    assert_eq!(cache.get(&k_small).await.unwrap(), Some(small));
    assert_eq!(cache.get(&k_big).await.unwrap(), Some(big));
    assert!(cache.contains(&k_big).await.unwrap());

    let mut con = raw(&redis);
    let keys = keys_under(&mut con, &o.prefix);
    let parts: Vec<&String> = keys.iter().filter(|k| k.contains(":p")).collect();
    assert!(
        parts.len() >= 9,
        "10 kB in 1 kB values needs 9+ parts: {keys:?}"
    );
    assert!(
        parts
            .iter()
            .all(|p| p.starts_with(&format!("{}:p", name(&o, &k_big)))),
        "{parts:?}"
    );
    assert_eq!(keys.len(), parts.len() + 2, "two heads: {keys:?}");
    for k in &keys {
        let len: usize = con.strlen(k).unwrap();
        assert!(len <= 1024, "{k} holds {len} bytes, over the part size");
        let pttl: i64 = con.pttl(k).unwrap();
        assert!(
            pttl > 0 && pttl <= 3_600_000,
            "{k} has PTTL {pttl}, expected the cache TTL"
        );
    }
    if redis.uncontrolled_reason().is_none() {
        let total: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(total, keys.len(), "every key lives under the prefix");
    }

    let stats = cache.stats().await.unwrap();
    assert_eq!(stats.entries, 2);
    assert!(stats.bytes > 10_000, "{stats:?}");
    assert_eq!(cache.health().failures, 0);
}

#[tokio::test]
async fn no_ttl_means_keys_that_do_not_expire_and_clear_keeps_other_prefixes() {
    let redis = TestRedis::start().unwrap();
    let mut o = options(&redis, "no-ttl");
    o.ttl = None;
    let cache = RedisCache::open(o.clone()).unwrap();
    let mut con = raw(&redis);
    let outsider = format!("{}not-ours", unique_prefix("outsider"));
    let _: () = con.set(&outsider, "keep me").unwrap();

    cache.put(&key("speak", 1), &noise(3000)).await.unwrap();
    for k in keys_under(&mut con, &o.prefix) {
        let pttl: i64 = con.pttl(&k).unwrap();
        assert_eq!(pttl, -1, "{k} should not expire");
    }
    cache.clear().await.unwrap();
    assert!(keys_under(&mut con, &o.prefix).is_empty());
    let kept: Option<String> = con.get(&outsider).unwrap();
    assert_eq!(kept.as_deref(), Some("keep me"));
    let _: () = con.del(&outsider).unwrap();
}

/// Puts a multi-part value, damages it with `damage`, and checks the next get is a miss
/// that deleted the head and every part; then that a fresh put is readable again.
async fn damaged_value_is_a_miss_and_deleted(
    label: &str,
    damage: impl FnOnce(&mut redis::Connection, &str),
) {
    let redis = TestRedis::start().unwrap();
    let o = options(&redis, label);
    let cache = RedisCache::open(o.clone()).unwrap();
    let k = key("render", 7);
    let value = noise(4000);
    cache.put(&k, &value).await.unwrap();
    let mut con = raw(&redis);
    assert!(keys_under(&mut con, &o.prefix).len() >= 4);

    damage(&mut con, &name(&o, &k));
    assert_eq!(
        cache.get(&k).await.unwrap(),
        None,
        "{label}: a damaged value was returned"
    );
    assert_eq!(
        keys_under(&mut con, &o.prefix),
        Vec::<String>::new(),
        "{label}: head and parts should be deleted"
    );
    // Recomputed and stored again, it reads back whole.
    cache.put(&k, &value).await.unwrap();
    assert_eq!(cache.get(&k).await.unwrap(), Some(value), "{label}");
    assert_eq!(
        cache.health().failures,
        0,
        "{label}: damage is not an outage"
    );
}

fn flip_byte(con: &mut redis::Connection, key: &str, at: usize) {
    let mut bytes: Vec<u8> = con.get(key).unwrap();
    bytes[at] ^= 0x20;
    let _: () = con.set(key, bytes).unwrap();
}

#[tokio::test]
async fn a_corrupt_head_is_a_miss_and_deleted() {
    damaged_value_is_a_miss_and_deleted("corrupt-head", |con, head| flip_byte(con, head, 40)).await;
    // A flip in the inline compressed bytes, caught by the checksum or the decoder.
    damaged_value_is_a_miss_and_deleted("corrupt-inline", |con, head| flip_byte(con, head, 500))
        .await;
}

#[tokio::test]
async fn a_corrupt_part_is_a_miss_and_deleted() {
    damaged_value_is_a_miss_and_deleted("corrupt-part", |con, head| {
        flip_byte(con, &format!("{head}:p2"), 600)
    })
    .await;
}

#[tokio::test]
async fn a_missing_part_is_a_miss_and_deleted() {
    damaged_value_is_a_miss_and_deleted("missing-part", |con, head| {
        let _: () = con.del(format!("{head}:p3")).unwrap();
    })
    .await;
}

#[tokio::test]
async fn foreign_bytes_and_foreign_types_are_misses_and_deleted() {
    damaged_value_is_a_miss_and_deleted("foreign-bytes", |con, head| {
        let _: () = con.set(head, "somebody else's value").unwrap();
    })
    .await;
    damaged_value_is_a_miss_and_deleted("foreign-type", |con, head| {
        let _: () = con.del(head).unwrap();
        let _: () = con.rpush(head, "a list").unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_part_of_another_write_is_never_assembled() {
    let redis = TestRedis::start().unwrap();
    let o = options(&redis, "mixed-writes");
    let cache = RedisCache::open(o.clone()).unwrap();
    let k = key("render", 9);
    let value = noise(4000);
    let mut con = raw(&redis);
    let p1 = format!("{}:p1", name(&o, &k));

    cache.put(&k, &value).await.unwrap();
    let old_part: Vec<u8> = con.get(&p1).unwrap();
    // The same key written again (same bytes, new write): a part of the first write put
    // back beside the second head must be refused, although its piece is identical.
    cache.put(&k, &value).await.unwrap();
    let _: () = con.set(&p1, old_part).unwrap();
    assert_eq!(cache.get(&k).await.unwrap(), None);
    assert!(keys_under(&mut con, &o.prefix).is_empty());
}

#[tokio::test]
async fn a_stopped_redis_is_skipped_after_one_failure_and_counted() {
    // Stops or pauses the server: always one of its own, even with an external Redis set.
    let mut redis = TestRedis::start_own().unwrap();
    let mut o = options(&redis, "stopped");
    // Long enough that no retry falls inside the test: every call after the first is skipped.
    o.retry_after = Duration::from_secs(600);
    let redis_tier = Arc::new(RedisCache::open(o).unwrap());
    let cache = TieredCache::new(vec![redis_tier.clone()]);
    let k = key("speak", 3);
    cache.put(&k, b"before the outage").await;
    assert_eq!(cache.get(&k).await.unwrap().backend, "redis");

    redis.stop().unwrap();
    assert!(cache.get(&k).await.is_none());
    for n in 0..10 {
        cache.put(&key("speak", n), b"during the outage").await;
        assert!(cache.get(&key("speak", n)).await.is_none());
    }
    let health = redis_tier.health();
    assert!(!health.reachable);
    assert_eq!(
        health.failures, 1,
        "only the first call may try a dead server"
    );
    assert_eq!(health.skipped, 20);
    assert_eq!(cache.counters().errors("redis"), 1);
    assert_eq!(cache.counters().misses("redis"), 11);
    // What a person asks for directly does report the outage.
    let err = redis_tier.stats().await.unwrap_err().to_string();
    assert!(err.contains("Redis cache at redis://127.0.0.1:"), "{err}");
}

#[tokio::test]
async fn the_tier_reconnects_by_itself_when_redis_is_back() {
    // Stops or pauses the server: always one of its own, even with an external Redis set.
    let mut redis = TestRedis::start_own().unwrap();
    let mut o = options(&redis, "recovers");
    o.retry_after = Duration::from_millis(100);
    o.max_retry_after = Duration::from_millis(200);
    let cache = RedisCache::open(o).unwrap();
    let k = key("storyboard", 1);
    cache.put(&k, b"first").await.unwrap();

    redis.stop().unwrap();
    assert_eq!(cache.get(&k).await.unwrap(), None);
    cache.put(&k, b"lost").await.unwrap();
    assert!(!cache.health().reachable);

    redis.start_again().unwrap();
    // A restarted server has no data: write until a write lands and reads back. The loop
    // bounds how long we wait for the back-off to let a call through; it times nothing.
    let mut recovered = false;
    for _ in 0..200 {
        cache.put(&k, b"after").await.unwrap();
        if cache.get(&k).await.unwrap().as_deref() == Some(&b"after"[..]) {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        recovered,
        "the tier never used Redis again: {:?}",
        cache.health()
    );
    assert!(cache.health().reachable);
}

#[tokio::test]
async fn a_frozen_redis_times_out_once_and_is_then_skipped() {
    // Stops or pauses the server: always one of its own, even with an external Redis set.
    let mut redis = TestRedis::start_own().unwrap();
    let mut o = options(&redis, "frozen");
    o.timeout = Duration::from_millis(200);
    o.retry_after = Duration::from_secs(600);
    let cache = RedisCache::open(o).unwrap();
    let k = key("fetch", 1);
    cache.put(&k, b"page").await.unwrap();

    redis.pause().unwrap();
    // The server accepts the request but never answers: the timeout ends the wait.
    assert_eq!(cache.get(&k).await.unwrap(), None);
    for _ in 0..5 {
        assert_eq!(cache.get(&k).await.unwrap(), None);
        cache.put(&k, b"page").await.unwrap();
    }
    let health = cache.health();
    assert_eq!(
        (health.reachable, health.failures, health.skipped),
        (false, 1, 10)
    );
    redis.resume().unwrap();
}

#[tokio::test]
async fn a_redis_hit_fills_the_local_tiers_of_another_cache() {
    let redis = TestRedis::start().unwrap();
    let o = options(&redis, "tiered");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let tiers = |dir: &std::path::Path| {
        TieredCache::embedded(16 << 20, dir, None, None)
            .unwrap()
            .with_tier(Arc::new(RedisCache::open(o.clone()).unwrap()))
    };
    let first = tiers(dir_a.path());
    assert_eq!(first.backends(), ["memory", "disk", "redis"]);
    let k = key("speak", 5);
    let value = noise(5000);
    first.put(&k, &value).await;

    // Another machine: nothing in memory or on its disk.
    let second = tiers(dir_b.path());
    let hit = second.get(&k).await.unwrap();
    assert_eq!((hit.backend, &hit.bytes), ("redis", &value));
    let counters = second.counters();
    assert_eq!(
        (
            counters.misses("memory"),
            counters.misses("disk"),
            counters.hits("redis")
        ),
        (1, 1, 1)
    );
    assert_eq!(second.get(&k).await.unwrap().backend, "memory");
    // The hit was written to B's disk too: a cache on B's folder without Redis has it.
    let disk_b = DiskCache::open(dir_b.path(), None, None).unwrap();
    assert_eq!(disk_b.get(&k).await.unwrap(), Some(value.clone()));
    let memory_only = MemoryCache::new(1 << 20, None);
    assert_eq!(memory_only.get(&k).await.unwrap(), None);

    let stats = second.stats().await;
    let redis_stats = stats.iter().find(|(n, _)| n == "redis").unwrap().1;
    assert_eq!(redis_stats.entries, 1);
    second.clear().await.unwrap();
    assert!(first.get(&k).await.is_some(), "A's memory still has it");
    assert_eq!(
        RedisCache::open(o.clone()).unwrap().get(&k).await.unwrap(),
        None,
        "clear emptied Redis under the prefix"
    );
}

#[tokio::test]
async fn a_rediss_url_with_the_servers_ca_round_trips_over_tls_and_a_wrong_ca_fails() {
    let redis = TestRedis::start_tls().unwrap();
    let url = redis.tls_url().unwrap();
    let mut o = RedisOptions::new(&url);
    o.prefix = unique_prefix("tls");
    o.ca_file = redis.ca_file();
    let cache = RedisCache::open(o.clone()).unwrap();
    let k = key("speak", 7);
    let value = noise(5000);
    cache.put(&k, &value).await.unwrap();
    assert_eq!(cache.get(&k).await.unwrap(), Some(value));
    // The value really went through the TLS listener: the plain port sees it too.
    let mut con = raw(&redis);
    assert!(!keys_under(&mut con, &o.prefix).is_empty());

    // Trusting the system's authorities instead, the test CA's certificate is refused: a
    // miss, never a connection to a server nobody vouched for.
    let mut system = o.clone();
    system.ca_file = None;
    system.prefix = unique_prefix("tls-system");
    let untrusted = RedisCache::open(system).unwrap();
    assert_eq!(untrusted.get(&k).await.unwrap(), None);
    let health = untrusted.health();
    assert!(!health.reachable && health.failures > 0, "{health:?}");
    // A CA file on a plain URL, or one that does not exist, is a settings error.
    let mut plain = RedisOptions::new(redis.url());
    plain.ca_file = redis.ca_file();
    let err = RedisCache::open(plain).unwrap_err().to_string();
    assert!(err.contains("rediss://"), "{err}");
    let mut missing = RedisOptions::new(&url);
    missing.ca_file = Some("/no/such/ca.pem".into());
    let err = RedisCache::open(missing).unwrap_err().to_string();
    assert!(err.contains("/no/such/ca.pem"), "{err}");
}
