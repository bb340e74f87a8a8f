//! Retention: finished jobs go, with their records and files, by age and by the total size of
//! the jobs' folder, oldest first. A queued or running job, or one whose files are being
//! downloaded ([`FileLease`]), is never touched.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::Runner;
use crate::{CancelError, JobQuery, MAX_PAGE, StoreError, now_ms};

/// How long finished jobs are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Finished jobs that ended longer ago than this are deleted.
    pub max_age: Option<Duration>,
    /// While the jobs' files take more than this many bytes, the oldest finished jobs are
    /// deleted.
    pub max_bytes: Option<u64>,
}

impl Retention {
    /// Whether it bounds anything at all.
    pub fn is_bounded(&self) -> bool {
        self.max_age.is_some() || self.max_bytes.is_some()
    }
}

/// What a [`Runner::prune`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Finished jobs deleted, records and files.
    pub jobs_deleted: u64,
    /// Bytes of job files deleted.
    pub bytes_freed: u64,
    /// Bytes the jobs' files take after the pass.
    pub bytes_kept: u64,
    /// Jobs due to go that were left because a download was reading them.
    pub in_use: u64,
}

/// Held while a job's files are being read (a download); [`Runner::prune`] leaves the job
/// alone until every lease on it is dropped.
pub struct FileLease {
    runner: Runner,
    id: String,
}

impl std::fmt::Debug for FileLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileLease").field("job", &self.id).finish()
    }
}

impl Drop for FileLease {
    fn drop(&mut self) {
        let mut shared = self.runner.inner.lock();
        if let Some(n) = shared.reading.get_mut(&self.id) {
            *n -= 1;
            if *n == 0 {
                shared.reading.remove(&self.id);
            }
        }
    }
}

/// Bytes of every file under `dir` (0 when it does not exist).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

impl Runner {
    /// Marks job `id`'s files as being read until the lease is dropped.
    pub fn lease_files(&self, id: &str) -> FileLease {
        *self.inner.lock().reading.entry(id.to_owned()).or_insert(0) += 1;
        FileLease {
            runner: self.clone(),
            id: id.to_owned(),
        }
    }

    /// Deletes the finished jobs `retention` no longer keeps: first those that ended longer
    /// ago than `max_age`, then, oldest first, as many as it takes to bring the jobs' files
    /// under `max_bytes`.
    pub async fn prune(&self, retention: Retention) -> Result<PruneReport, StoreError> {
        let mut report = PruneReport {
            bytes_kept: dir_bytes(&self.inner.config.jobs_dir),
            ..PruneReport::default()
        };
        if !retention.is_bounded() {
            return Ok(report);
        }
        // Every finished job, oldest end first.
        let mut finished = Vec::new();
        let mut query = JobQuery {
            limit: MAX_PAGE,
            ..JobQuery::default()
        };
        loop {
            let page = self.inner.store.list(&query).await?;
            finished.extend(
                page.jobs
                    .into_iter()
                    .filter(|j| j.state.is_finished())
                    .map(|j| (j.finished_at_ms.unwrap_or(j.created_at_ms), j.id)),
            );
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
        finished.sort();
        let now = now_ms();
        for (ended, id) in finished {
            let too_old = retention
                .max_age
                .is_some_and(|age| u128::from(now.saturating_sub(ended)) >= age.as_millis());
            let too_big = retention
                .max_bytes
                .is_some_and(|max| report.bytes_kept > max);
            if !(too_old || too_big) {
                // Oldest first: no later job is older, and the folder is small enough.
                break;
            }
            if self.inner.lock().reading.contains_key(&id) {
                report.in_use += 1;
                continue;
            }
            let bytes = dir_bytes(&self.inner.config.jobs_dir.join(&id));
            match self.delete(&id).await {
                Ok(true) => {
                    report.jobs_deleted += 1;
                    report.bytes_freed += bytes;
                    report.bytes_kept = report.bytes_kept.saturating_sub(bytes);
                }
                // Deleted meanwhile by its owner.
                Ok(false) | Err(CancelError::NotFound(_)) => {}
                Err(CancelError::Store(e)) => return Err(e),
                Err(CancelError::Finished(_)) => {}
            }
        }
        Ok(report)
    }
}
