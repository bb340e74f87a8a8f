//! Cancelling a run from another task or thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::VidflowError;

/// Cancels a running job from another task or thread. A [`CancelFlag::child`] is
/// cancelled with its parent and can also be cancelled alone: a stage's try that runs
/// past its time limit is stopped without cancelling the job.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag {
    own: Arc<AtomicBool>,
    /// Every flag above this one.
    ancestors: Vec<Arc<AtomicBool>>,
}

impl CancelFlag {
    /// Asks the work to stop.
    pub fn cancel(&self) {
        self.own.store(true, Ordering::SeqCst)
    }

    /// True once this flag or its parent is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.own.load(Ordering::SeqCst) || self.ancestors.iter().any(|a| a.load(Ordering::SeqCst))
    }

    /// A flag cancelled when this one is, which can also be cancelled on its own.
    pub fn child(&self) -> CancelFlag {
        let mut ancestors = self.ancestors.clone();
        ancestors.push(self.own.clone());
        CancelFlag {
            own: Arc::new(AtomicBool::new(false)),
            ancestors,
        }
    }

    /// `Err(cancelled)` once cancelled: for `?` between steps of work.
    pub fn check(&self) -> Result<(), VidflowError> {
        if self.is_cancelled() {
            Err(VidflowError::cancelled())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_follows_its_parent_but_not_the_other_way() {
        let job = CancelFlag::default();
        let attempt = job.child();
        attempt.cancel();
        assert!(attempt.is_cancelled() && !job.is_cancelled());
        let attempt = job.child();
        job.cancel();
        assert!(attempt.is_cancelled());
        assert!(attempt.check().is_err());
    }
}
