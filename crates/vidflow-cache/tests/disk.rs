//! The disk tier against a real directory: round trips, corruption, TTL, bounds, gc.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use vidflow_cache::{CacheBackend, CacheError, DiskCache};
use vidflow_core::{Clock, ContentKey, ErrorKind, VidflowError};

fn key(n: u32) -> ContentKey {
    ContentKey::builder("speak", 1)
        .param("n", n.to_string())
        .build()
}

/// Every file under `dir` (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(read) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in read.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn content_files(root: &Path) -> Vec<PathBuf> {
    files_under(&root.join("content-v2"))
}

#[tokio::test]
async fn round_trip_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let value: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    {
        let disk = DiskCache::open(dir.path(), None, None).unwrap();
        assert_eq!(disk.get(&key(1)).await.unwrap(), None);
        disk.put(&key(1), &value).await.unwrap();
        disk.put(&key(2), b"").await.unwrap();
        assert_eq!(disk.get(&key(1)).await.unwrap().unwrap(), value);
    }
    let reopened = DiskCache::open(dir.path(), None, None).unwrap();
    assert_eq!(reopened.get(&key(1)).await.unwrap().unwrap(), value);
    assert_eq!(reopened.get(&key(2)).await.unwrap().unwrap(), b"");
    let stats = reopened.stats().await.unwrap();
    assert_eq!(stats.entries, 2);
    assert!(stats.bytes > value.len() as u64, "{stats:?}");

    reopened.remove(&key(1)).await.unwrap();
    assert_eq!(reopened.get(&key(1)).await.unwrap(), None);
    assert_eq!(reopened.stats().await.unwrap().entries, 1);
    assert_eq!(
        content_files(dir.path()).len(),
        1,
        "removed content stays on disk"
    );
}

#[tokio::test]
async fn overwrite_returns_new_value_and_drops_old_content() {
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskCache::open(dir.path(), None, None).unwrap();
    disk.put(&key(1), b"first").await.unwrap();
    disk.put(&key(1), b"second, longer").await.unwrap();
    assert_eq!(disk.get(&key(1)).await.unwrap().unwrap(), b"second, longer");
    assert_eq!(content_files(dir.path()).len(), 1);
    assert_eq!(disk.stats().await.unwrap().entries, 1);
}

async fn assert_discarded_then_usable(disk: &DiskCache, root: &Path) {
    assert_eq!(
        disk.get(&key(1)).await.unwrap(),
        None,
        "corrupt entry returned"
    );
    assert!(
        content_files(root).is_empty(),
        "corrupt content left on disk: {:?}",
        content_files(root)
    );
    assert!(
        cacache::metadata_sync(root, key(1).as_str())
            .unwrap()
            .is_none(),
        "index entry left behind"
    );
    // Still a miss the second time, and the key works again after a fresh put.
    assert_eq!(disk.get(&key(1)).await.unwrap(), None);
    disk.put(&key(1), b"recomputed").await.unwrap();
    assert_eq!(disk.get(&key(1)).await.unwrap().unwrap(), b"recomputed");
}

#[tokio::test]
async fn flipped_byte_in_content_file_is_a_miss_and_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskCache::open(dir.path(), None, None).unwrap();
    disk.put(&key(1), &[42u8; 4096]).await.unwrap();
    let files = content_files(dir.path());
    assert_eq!(files.len(), 1);
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    std::fs::write(&files[0], bytes).unwrap();
    assert_discarded_then_usable(&disk, dir.path()).await;
}

#[tokio::test]
async fn truncated_content_file_is_a_miss_and_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskCache::open(dir.path(), None, None).unwrap();
    disk.put(&key(1), &[7u8; 10_000]).await.unwrap();
    let files = content_files(dir.path());
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&files[0])
        .unwrap();
    file.set_len(5_000).unwrap();
    drop(file);
    assert_discarded_then_usable(&disk, dir.path()).await;
}

#[tokio::test]
async fn missing_content_file_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskCache::open(dir.path(), None, None).unwrap();
    disk.put(&key(1), b"value").await.unwrap();
    std::fs::remove_file(&content_files(dir.path())[0]).unwrap();
    assert_discarded_then_usable(&disk, dir.path()).await;
}

#[tokio::test]
async fn blob_with_valid_cacache_hash_but_bad_header_is_refused() {
    // cacache's own sha256 passes here: only our header can catch it.
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskCache::open(dir.path(), None, None).unwrap();
    cacache::write_sync(
        dir.path(),
        key(1).as_str(),
        b"not a vidflow entry at all, just bytes",
    )
    .unwrap();
    assert_discarded_then_usable(&disk, dir.path()).await;

    // A genuine entry of another key, indexed under this one, is refused too.
    disk.put(&key(2), b"belongs to key 2").await.unwrap();
    let blob = cacache::read_sync(dir.path(), key(2).as_str()).unwrap();
    disk.remove(&key(1)).await.unwrap();
    cacache::write_sync(dir.path(), key(1).as_str(), &blob).unwrap();
    assert_eq!(disk.get(&key(1)).await.unwrap(), None);
    assert_eq!(
        disk.get(&key(2)).await.unwrap().unwrap(),
        b"belongs to key 2"
    );
}

#[tokio::test]
async fn expired_entries_are_misses_and_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    // Time moves only when the test moves it, so no margin for a loaded machine is needed.
    let (clock, hand) = Clock::manual();
    let ttl = Duration::from_secs(60);
    let disk = DiskCache::open_with_clock(dir.path(), Some(ttl), None, clock.clone()).unwrap();
    disk.put(&key(1), b"short-lived").await.unwrap();
    hand.advance(ttl - Duration::from_millis(1));
    assert_eq!(disk.get(&key(1)).await.unwrap().unwrap(), b"short-lived");
    assert!(disk.contains(&key(1)).await.unwrap());
    hand.advance(Duration::from_millis(1));
    assert!(!disk.contains(&key(1)).await.unwrap());
    assert_eq!(disk.get(&key(1)).await.unwrap(), None);
    assert!(content_files(dir.path()).is_empty());
    assert_eq!(disk.stats().await.unwrap().entries, 0);

    // gc removes expired entries nobody asked for, and keeps the rest.
    disk.put(&key(2), b"also short-lived").await.unwrap();
    hand.advance(ttl / 2);
    disk.put(&key(4), b"younger").await.unwrap();
    hand.advance(ttl / 2);
    let report = disk.gc().await.unwrap();
    assert_eq!(report.expired, 1);
    assert_eq!(content_files(dir.path()).len(), 1);
    assert_eq!(disk.get(&key(4)).await.unwrap().unwrap(), b"younger");

    // The same store opened without a TTL keeps entries.
    let forever = DiskCache::open_with_clock(dir.path(), None, None, clock).unwrap();
    forever.put(&key(3), b"kept").await.unwrap();
    hand.advance(ttl * 1000);
    assert_eq!(forever.get(&key(3)).await.unwrap().unwrap(), b"kept");
}

#[tokio::test]
async fn max_bytes_evicts_least_recently_written() {
    let dir = tempfile::tempdir().unwrap();
    let max = 10_000;
    let (clock, hand) = Clock::manual();
    let disk = DiskCache::open_with_clock(dir.path(), None, Some(max), clock).unwrap();
    let value = vec![1u8; 2_000];
    for n in 0..12 {
        disk.put(&key(n), &value).await.unwrap();
        // Distinct write times, so "least recently written" is unambiguous.
        hand.advance(Duration::from_secs(1));
        let stats = disk.stats().await.unwrap();
        assert!(stats.bytes <= max, "after put {n}: {stats:?}");
    }
    // The newest entries survive, the oldest are gone.
    assert_eq!(disk.get(&key(11)).await.unwrap().unwrap(), value);
    assert_eq!(disk.get(&key(10)).await.unwrap().unwrap(), value);
    assert_eq!(disk.get(&key(0)).await.unwrap(), None);
    assert_eq!(disk.get(&key(1)).await.unwrap(), None);
    let stats = disk.stats().await.unwrap();
    assert_eq!(
        content_files(dir.path()).len() as u64,
        stats.entries,
        "evicted content must be deleted"
    );

    // A value larger than the whole bound is not stored, and evicts nothing.
    disk.put(&key(99), &vec![0u8; 20_000]).await.unwrap();
    assert_eq!(disk.get(&key(99)).await.unwrap(), None);
    assert_eq!(disk.stats().await.unwrap(), stats);
}

#[tokio::test]
async fn bound_is_enforced_for_a_store_filled_before_opening() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, hand) = Clock::manual();
    let unbounded = DiskCache::open_with_clock(dir.path(), None, None, clock.clone()).unwrap();
    for n in 0..10 {
        unbounded.put(&key(n), &[5u8; 1_000]).await.unwrap();
        hand.advance(Duration::from_secs(1));
    }
    let bounded = DiskCache::open_with_clock(dir.path(), None, Some(5_000), clock).unwrap();
    bounded.put(&key(10), &[5u8; 1_000]).await.unwrap();
    let stats = bounded.stats().await.unwrap();
    assert!(stats.bytes <= 5_000, "{stats:?}");
    assert!(bounded.get(&key(10)).await.unwrap().is_some());
    assert!(bounded.get(&key(0)).await.unwrap().is_none());
}

fn set_mtime(path: &Path, when: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

#[tokio::test]
async fn gc_deletes_old_orphans_but_not_fresh_files() {
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskCache::open(dir.path(), None, None).unwrap();
    disk.put(&key(1), b"indexed").await.unwrap();
    // Content with no index entry, as a crash between the two writes would leave.
    cacache::write_hash_sync(dir.path(), b"orphan").unwrap();
    let stale_tmp = dir.path().join("tmp").join("leftover");
    std::fs::write(&stale_tmp, b"half a write").unwrap();
    // Everything so far is an hour old; age alone must not get the indexed entry collected.
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for file in content_files(dir.path()) {
        set_mtime(&file, an_hour_ago);
    }
    set_mtime(&stale_tmp, an_hour_ago);
    // A fresh unindexed file may be another writer's entry about to be indexed.
    cacache::write_hash_sync(dir.path(), b"fresh orphan").unwrap();

    let report = disk.gc().await.unwrap();
    assert_eq!(report.orphans, 2, "{report:?}");
    assert_eq!(report.expired + report.evicted, 0);
    assert!(!stale_tmp.exists());
    let left: Vec<Vec<u8>> = content_files(dir.path())
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    assert_eq!(left.len(), 2, "indexed entry and fresh orphan stay");
    assert!(left.iter().any(|b| b == b"fresh orphan"));
    assert_eq!(disk.get(&key(1)).await.unwrap().unwrap(), b"indexed");
}

#[tokio::test]
async fn clear_empties_the_store_and_leaves_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, b"not ours").unwrap();
    let disk = DiskCache::open(dir.path(), None, None).unwrap();
    for n in 0..5 {
        disk.put(&key(n), b"x").await.unwrap();
    }
    disk.clear().await.unwrap();
    assert_eq!(disk.stats().await.unwrap().entries, 0);
    assert_eq!(disk.get(&key(0)).await.unwrap(), None);
    assert!(content_files(dir.path()).is_empty());
    assert_eq!(std::fs::read(&foreign).unwrap(), b"not ours");
    disk.put(&key(0), b"after clear").await.unwrap();
    assert_eq!(disk.get(&key(0)).await.unwrap().unwrap(), b"after clear");
}

#[test]
fn unusable_directory_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let err = DiskCache::open(&file.join("cache"), None, None).unwrap_err();
    assert!(matches!(err, CacheError::Directory { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::BadInput);
    let message = VidflowError::from(err).message;
    assert!(message.contains("a-file"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_and_gets_of_one_key_never_return_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskCache::open(dir.path(), None, None).unwrap();
    // Each writer stores a value whose every byte is its id, of a length derived from it,
    // so any mix of two writes or a partial write is recognisable.
    let value_of = |id: u8| vec![id; 1_000 + id as usize * 37];
    let shared = key(7);
    let mut tasks = Vec::new();
    for id in 0..32u8 {
        let disk = disk.clone();
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = 0;
            for round in 0..10 {
                if (id as usize + round).is_multiple_of(2) {
                    disk.put(&shared, &value_of(id)).await.unwrap();
                }
                if let Some(got) = disk.get(&shared).await.unwrap() {
                    let writer = got[0];
                    assert!(writer < 32);
                    assert_eq!(got, value_of(writer), "mixed or partial value");
                    seen += 1;
                }
            }
            seen
        }));
    }
    let mut hits = 0;
    for task in tasks {
        hits += task.await.unwrap();
    }
    assert!(hits > 0);
    let last = disk.get(&shared).await.unwrap().expect("a value survives");
    assert_eq!(last, value_of(last[0]));
    assert_eq!(
        content_files(dir.path()).len(),
        1,
        "replaced values must not pile up"
    );
}
