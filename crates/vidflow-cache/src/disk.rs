//! The on-disk tier: cacache, with every entry wrapped in a checksummed header.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use cacache::{Algorithm, Integrity, Metadata, RemoveOpts, WriteOpts};
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};
use vidflow_core::{Clock, ContentKey};

use crate::entry;
use crate::{BackendStats, BoxFuture, CacheBackend, CacheError};

/// Locks guarding writes and deletions per key (a key maps to one stripe), so that two
/// tasks of this process never interleave a rewrite and a deletion of the same entry.
const STRIPES: usize = 64;
/// A content or temporary file younger than this is never taken for an orphan: another
/// process (or a put of ours) may have written it and be about to index it.
const ORPHAN_GRACE: Duration = Duration::from_secs(300);
/// When over `max_bytes`, evict down to this share of it, so that the next few puts do not
/// each pay for a walk of the index.
const LOW_WATER_PERCENT: u64 = 90;
/// The subdirectories cacache creates. `clear` removes these and nothing else, so that a
/// cache directory pointed at the wrong place by mistake loses no one else's files.
const CONTENT_DIR: &str = "content-v2";
const INDEX_DIR: &str = "index-v5";
const TMP_DIR: &str = "tmp";

/// What a [`DiskCache::gc`] pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    /// Entries past their TTL.
    pub expired: u64,
    /// Entries evicted (oldest written first) to get under `max_bytes`.
    pub evicted: u64,
    /// Content and temporary files no entry refers to (left by a crash or a lost race).
    pub orphans: u64,
    /// Bytes freed by all of the above.
    pub bytes_freed: u64,
}

/// Stage outputs on disk, under a directory of the caller's choosing.
///
/// Each entry is stored by cacache (content first, written to a temporary file and renamed
/// into place, then an append-only index line with its own hash), so a crash mid-write
/// leaves either the old entry or the new one, never a readable half. On top of cacache's own
/// sha256 integrity check each blob carries a header (magic, format version, lengths, the key,
/// created-at time, blake3 checksum); a blob failing any check, or past its TTL, is deleted
/// and reported as a miss.
///
/// With `max_bytes`, puts that take the store over the bound evict the least recently
/// written entries. All methods run the file-system work on Tokio's blocking pool, so they
/// must be called inside a Tokio runtime.
#[derive(Clone)]
pub struct DiskCache {
    store: Arc<DiskStore>,
}

impl std::fmt::Debug for DiskCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskCache")
            .field("dir", &self.store.dir)
            .field("ttl", &self.store.ttl)
            .field("max_bytes", &self.store.max_bytes)
            .finish()
    }
}

struct DiskStore {
    dir: PathBuf,
    ttl: Option<Duration>,
    max_bytes: Option<u64>,
    /// What "now" is for write times, expiry and eviction order.
    clock: Clock,
    stripes: Vec<Mutex<()>>,
    /// One maintenance pass (eviction, gc, clear) at a time.
    maintenance: Mutex<()>,
    /// Running estimate of the bytes stored, to decide when a put must walk the index and
    /// evict. Only a trigger: every pass recomputes the exact figure.
    approx_bytes: AtomicU64,
}

/// The guards protect no data, only ordering, so a poisoned lock is still usable.
fn lock(m: &Mutex<()>) -> MutexGuard<'_, ()> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn is_not_found(err: &cacache::Error) -> bool {
    matches!(err, cacache::Error::IoError(io, _) if io.kind() == std::io::ErrorKind::NotFound)
}

impl DiskCache {
    /// Opens (creating it if needed) the cache in `dir`. Entries older than `ttl` are treated
    /// as absent; with `max_bytes` the store is kept under that many bytes.
    ///
    /// Fails with [`CacheError::Directory`] (a [`BadInput`](vidflow_core::ErrorKind::BadInput))
    /// when the directory cannot be created or written.
    pub fn open(
        dir: &Path,
        ttl: Option<Duration>,
        max_bytes: Option<u64>,
    ) -> Result<Self, CacheError> {
        Self::open_with_clock(dir, ttl, max_bytes, Clock::system())
    }

    /// [`open`](Self::open) with the clock that dates entries and decides their expiry and
    /// eviction order (a test's manual [`Clock`] moves time without waiting for it).
    pub fn open_with_clock(
        dir: &Path,
        ttl: Option<Duration>,
        max_bytes: Option<u64>,
        clock: Clock,
    ) -> Result<Self, CacheError> {
        let directory_error = |source| CacheError::Directory {
            dir: dir.to_path_buf(),
            source,
        };
        let tmp = dir.join(TMP_DIR);
        std::fs::create_dir_all(&tmp).map_err(directory_error)?;
        // Find out now, not at the first put, whether we may write here.
        let probe = tmp.join(format!(".probe-{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(directory_error)?;
        let _ = std::fs::remove_file(&probe);

        let store = DiskStore {
            dir: dir.to_path_buf(),
            ttl,
            max_bytes,
            clock,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            maintenance: Mutex::new(()),
            approx_bytes: AtomicU64::new(0),
        };
        if max_bytes.is_some() {
            let stored: u64 = store.list()?.iter().map(|m| m.size as u64).sum();
            store.approx_bytes.store(stored, Ordering::Relaxed);
        }
        Ok(DiskCache {
            store: Arc::new(store),
        })
    }

    /// The directory this cache lives in.
    pub fn dir(&self) -> &Path {
        &self.store.dir
    }

    /// How long an entry lives after it was written (`None`: until evicted).
    pub fn ttl(&self) -> Option<Duration> {
        self.store.ttl
    }

    /// The bound on stored bytes, if any.
    pub fn max_bytes(&self) -> Option<u64> {
        self.store.max_bytes
    }

    /// Removes expired entries, evicts down to the bound, and deletes content and temporary
    /// files no entry refers to that are older than a few minutes.
    pub async fn gc(&self) -> Result<GcReport, CacheError> {
        self.blocking("collect garbage", |s| s.maintain(true)).await
    }

    async fn blocking<T, F>(&self, op: &'static str, f: F) -> Result<T, CacheError>
    where
        T: Send + 'static,
        F: FnOnce(&DiskStore) -> Result<T, CacheError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| CacheError::Worker {
                op,
                message: e.to_string(),
            })?
    }
}

impl DiskStore {
    fn disk_error(
        &self,
        op: &'static str,
        key: Option<&str>,
        source: cacache::Error,
    ) -> CacheError {
        CacheError::Disk {
            op,
            dir: self.dir.clone(),
            key: key.map(str::to_owned),
            source,
        }
    }

    fn stripe(&self, key: &str) -> MutexGuard<'_, ()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        lock(&self.stripes[(h.finish() as usize) % STRIPES])
    }

    fn expired(&self, created_ms: u64, now: u64) -> bool {
        self.ttl
            .is_some_and(|ttl| now.saturating_sub(created_ms) as u128 >= ttl.as_millis())
    }

    fn metadata(&self, key: &str) -> Result<Option<Metadata>, CacheError> {
        cacache::metadata_sync(&self.dir, key).map_err(|e| self.disk_error("look up", Some(key), e))
    }

    /// Every live index entry (the latest write of each key that was not deleted).
    fn list(&self) -> Result<Vec<Metadata>, CacheError> {
        if !self.dir.join(INDEX_DIR).exists() {
            return Ok(Vec::new());
        }
        cacache::index::ls(&self.dir)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.disk_error("list", None, e))
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        // A concurrent rewrite may delete the content we looked up between the index read and
        // the content read; then the index points elsewhere and a second look finds it.
        for _ in 0..3 {
            let Some(meta) = self.metadata(key)? else {
                return Ok(None);
            };
            // Whether the content file holds this key's blob; only then may it be deleted
            // (an index pointing at another key's blob must not cost that key its entry).
            let mut content_is_ours = true;
            let reason = match cacache::read_hash_sync(&self.dir, &meta.integrity) {
                Ok(blob) => match entry::decode(blob, key) {
                    Ok(verified) => {
                        if self.expired(verified.created_ms, self.clock.now_ms()) {
                            debug!(key, dir = %self.dir.display(), "disk cache entry expired");
                            self.discard(key, &meta.integrity, true);
                            return Ok(None);
                        }
                        return Ok(Some(verified.payload));
                    }
                    Err(invalid) => {
                        content_is_ours = !matches!(invalid, entry::Invalid::KeyMismatch { .. });
                        invalid.to_string()
                    }
                },
                Err(
                    err @ (cacache::Error::IntegrityError(_) | cacache::Error::SizeMismatch(..)),
                ) => {
                    format!("content fails cacache's integrity check: {err}")
                }
                Err(err) if is_not_found(&err) => match self.metadata(key)? {
                    Some(now) if now.integrity != meta.integrity => continue,
                    _ => "its content file is missing".to_owned(),
                },
                Err(err) => return Err(self.disk_error("read", Some(key), err)),
            };
            warn!(
                key,
                dir = %self.dir.display(),
                reason = %reason,
                "discarding corrupt disk cache entry"
            );
            self.discard(key, &meta.integrity, content_is_ours);
            return Ok(None);
        }
        Ok(None)
    }

    /// Deletes an entry found bad or expired; a failure to delete is logged, since the caller
    /// reports a miss either way.
    fn discard(&self, key: &str, integrity: &Integrity, content_is_ours: bool) {
        if let Err(err) = self.remove_if_current(key, integrity, content_is_ours) {
            warn!(key, error = %err, "could not delete disk cache entry");
        }
    }

    /// Deletes the index entry of `key` if it still points at `integrity` (it may have been
    /// rewritten meanwhile, and the new entry must survive), and with `content_is_ours` the
    /// content too. Blobs embed their key, so no other key can be sharing this key's content.
    fn remove_if_current(
        &self,
        key: &str,
        integrity: &Integrity,
        content_is_ours: bool,
    ) -> Result<(), CacheError> {
        let _guard = self.stripe(key);
        let current = self.metadata(key)?;
        let is_current = current.is_some_and(|m| m.integrity == *integrity);
        match (is_current, content_is_ours) {
            (true, true) => self.remove_entry_locked(key),
            (true, false) => cacache::remove_sync(&self.dir, key)
                .map_err(|e| self.disk_error("delete", Some(key), e)),
            (false, true) => self.remove_content(integrity),
            (false, false) => Ok(()),
        }
    }

    /// Deletes the current entry of `key` (content and index bucket). Caller holds the stripe.
    fn remove_entry_locked(&self, key: &str) -> Result<(), CacheError> {
        let Some(meta) = self.metadata(key)? else {
            return Ok(());
        };
        // remove_fully deletes the content and the whole bucket file, so nothing is left
        // behind; it fails when the content is already gone, and then an index tombstone
        // does the job.
        if RemoveOpts::new()
            .remove_fully(true)
            .remove_sync(&self.dir, key)
            .is_ok()
        {
            return Ok(());
        }
        self.remove_content(&meta.integrity)?;
        cacache::remove_sync(&self.dir, key).map_err(|e| self.disk_error("delete", Some(key), e))
    }

    fn remove_content(&self, integrity: &Integrity) -> Result<(), CacheError> {
        match cacache::remove_hash_sync(&self.dir, integrity) {
            Err(err) if !is_not_found(&err) => Err(self.disk_error("delete content", None, err)),
            _ => Ok(()),
        }
    }

    fn put(&self, key: &str, blob: Vec<u8>, created_ms: u64) -> Result<(), CacheError> {
        let len = blob.len() as u64;
        if self.max_bytes.is_some_and(|max| len > max) {
            debug!(
                key,
                len, "value larger than the disk cache bound; not stored"
            );
            return Ok(());
        }
        {
            let _guard = self.stripe(key);
            let previous = self.metadata(key)?;
            let mut writer = WriteOpts::new()
                .algorithm(Algorithm::Sha256)
                .size(blob.len())
                .time(created_ms as u128)
                .open_sync(&self.dir, key)
                .map_err(|e| self.disk_error("write", Some(key), e))?;
            writer.write_all(&blob).map_err(|source| CacheError::Io {
                op: "write a temporary file in",
                path: self.dir.join(TMP_DIR),
                source,
            })?;
            let written = writer
                .commit()
                .map_err(|e| self.disk_error("write", Some(key), e))?;
            // The replaced blob belonged to this key alone; drop it now rather than leave it
            // for gc.
            if let Some(previous) = previous
                && previous.integrity != written
                && let Err(err) = self.remove_content(&previous.integrity)
            {
                warn!(key, error = %err, "could not delete replaced disk cache content");
            }
        }
        if let Some(max) = self.max_bytes {
            let total = self.approx_bytes.fetch_add(len, Ordering::Relaxed) + len;
            if total > max
                && let Err(err) = self.maintain(false)
            {
                warn!(error = %err, "disk cache eviction failed");
            }
        }
        Ok(())
    }

    /// Removes expired entries and evicts down to the bound; with `sweep_orphans`, also deletes
    /// unreferenced content and stale temporary files.
    fn maintain(&self, sweep_orphans: bool) -> Result<GcReport, CacheError> {
        let _maintenance = lock(&self.maintenance);
        let mut report = GcReport::default();
        let now = self.clock.now_ms();
        let mut live = Vec::new();
        for meta in self.list()? {
            if self.expired(meta.time as u64, now) {
                self.remove_if_current(&meta.key, &meta.integrity, true)?;
                report.expired += 1;
                report.bytes_freed += meta.size as u64;
            } else {
                live.push(meta);
            }
        }
        let mut total: u64 = live.iter().map(|m| m.size as u64).sum();
        if let Some(max) = self.max_bytes
            && total > max
        {
            let target = (u128::from(max) * u128::from(LOW_WATER_PERCENT) / 100) as u64;
            // Oldest written first; ties broken by key so the order is stable.
            live.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.key.cmp(&b.key)));
            let mut kept = Vec::with_capacity(live.len());
            for meta in live {
                if total > target {
                    self.remove_if_current(&meta.key, &meta.integrity, true)?;
                    report.evicted += 1;
                    report.bytes_freed += meta.size as u64;
                    total -= meta.size as u64;
                } else {
                    kept.push(meta);
                }
            }
            live = kept;
            debug!(
                evicted = report.evicted,
                bytes = total,
                max,
                "disk cache evicted least recently written entries"
            );
        }
        self.approx_bytes.store(total, Ordering::Relaxed);
        if sweep_orphans {
            let referenced: HashSet<PathBuf> = live
                .iter()
                .map(|m| self.content_path(&m.integrity))
                .collect();
            let cutoff = SystemTime::now() - ORPHAN_GRACE;
            self.sweep(
                &self.dir.join(CONTENT_DIR),
                &referenced,
                cutoff,
                &mut report,
            )?;
            self.sweep(&self.dir.join(TMP_DIR), &referenced, cutoff, &mut report)?;
        }
        Ok(report)
    }

    /// Where cacache keeps the content with this integrity (its `content-v2` layout:
    /// `algorithm/hh/hh/rest-of-hex`).
    fn content_path(&self, integrity: &Integrity) -> PathBuf {
        let (algorithm, hex) = integrity.to_hex();
        self.dir
            .join(CONTENT_DIR)
            .join(algorithm.to_string())
            .join(&hex[..2])
            .join(&hex[2..4])
            .join(&hex[4..])
    }

    /// Deletes files under `dir` that are not in `keep` and were last written before `cutoff`.
    fn sweep(
        &self,
        dir: &Path,
        keep: &HashSet<PathBuf>,
        cutoff: SystemTime,
        report: &mut GcReport,
    ) -> Result<(), CacheError> {
        let read = match std::fs::read_dir(dir) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(CacheError::Io {
                    op: "list",
                    path: dir.to_path_buf(),
                    source,
                });
            }
        };
        for dirent in read.flatten() {
            let path = dirent.path();
            let Ok(meta) = dirent.metadata() else {
                continue;
            };
            if meta.is_dir() {
                self.sweep(&path, keep, cutoff, report)?;
                continue;
            }
            let old = meta.modified().map(|m| m < cutoff).unwrap_or(false);
            if old && !keep.contains(&path) {
                match std::fs::remove_file(&path) {
                    Ok(()) => {
                        report.orphans += 1;
                        report.bytes_freed += meta.len();
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(CacheError::Io {
                            op: "delete orphaned file",
                            path,
                            source,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn stats(&self) -> Result<BackendStats, CacheError> {
        let entries = self.list()?;
        Ok(BackendStats {
            entries: entries.len() as u64,
            bytes: entries.iter().map(|m| m.size as u64).sum(),
        })
    }

    fn clear(&self) -> Result<(), CacheError> {
        let _maintenance = lock(&self.maintenance);
        // Hold every stripe so no put of ours lands half in the old store, half in the new.
        let _stripes: Vec<_> = self.stripes.iter().map(lock).collect();
        for sub in [INDEX_DIR, CONTENT_DIR, TMP_DIR] {
            let path = self.dir.join(sub);
            match std::fs::remove_dir_all(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(CacheError::Io {
                        op: "delete",
                        path,
                        source: e,
                    });
                }
                _ => {}
            }
        }
        self.approx_bytes.store(0, Ordering::Relaxed);
        Ok(())
    }
}

impl CacheBackend for DiskCache {
    fn name(&self) -> &'static str {
        "disk"
    }

    fn contains<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Result<bool, CacheError>> {
        // The index alone: the blob is not read, so expiry is judged by the index time. One
        // small index file read on the caller's thread costs microseconds, far less than
        // the hop to a blocking thread and back (dry-run plans make several per request).
        Box::pin(async move {
            let s = &self.store;
            Ok(s.metadata(key.as_str())?
                .is_some_and(|m| !s.expired(m.time as u64, s.clock.now_ms())))
        })
    }

    fn get<'a>(
        &'a self,
        key: &'a ContentKey,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, CacheError>> {
        let key = key.as_str().to_owned();
        Box::pin(self.blocking("read", move |s| s.get(&key)))
    }

    fn put<'a>(
        &'a self,
        key: &'a ContentKey,
        value: &'a [u8],
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        let key = key.as_str().to_owned();
        let created_ms = self.store.clock.now_ms();
        // Encoding copies the value once into the owned blob the blocking task needs anyway.
        let blob = entry::encode(&key, value, created_ms);
        Box::pin(self.blocking("write", move |s| s.put(&key, blob, created_ms)))
    }

    fn remove<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Result<(), CacheError>> {
        let key = key.as_str().to_owned();
        Box::pin(self.blocking("delete", move |s| {
            let _guard = s.stripe(&key);
            s.remove_entry_locked(&key)
        }))
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        Box::pin(self.blocking("clear", |s| s.clear()))
    }

    fn stats(&self) -> BoxFuture<'_, Result<BackendStats, CacheError>> {
        Box::pin(self.blocking("list", |s| s.stats()))
    }
}
