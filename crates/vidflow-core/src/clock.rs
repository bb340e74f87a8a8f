//! The wall clock that expiry reads: the system's, or one a test moves by hand.
//!
//! Cache entries expire by their age, which is "now" minus the time they were written. A
//! test that waits for real time to pass both takes that long and fails on a machine too
//! loaded to answer within the margin; with a [`ClockHand`] it moves time itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where "now" comes from: the system's clock ([`Clock::system`], the default) or a manual
/// one that stands still until its [`ClockHand`] moves it ([`Clock::manual`]).
///
/// ```
/// use std::time::Duration;
/// use vidflow_core::Clock;
///
/// let (clock, hand) = Clock::manual();
/// let written = clock.now_ms();
/// hand.advance(Duration::from_secs(90));
/// assert_eq!(clock.now_ms() - written, 90_000);
/// assert!(Clock::system().now_ms() > 1_600_000_000_000);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Milliseconds since the Unix epoch, for a manual clock.
    manual: Option<Arc<AtomicU64>>,
}

/// Moves a manual [`Clock`] (and every clone of it) forward.
#[derive(Clone, Debug)]
pub struct ClockHand {
    ms: Arc<AtomicU64>,
}

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that reads the system's time once, then stands still until the returned
    /// hand moves it.
    pub fn manual() -> (Clock, ClockHand) {
        let ms = Arc::new(AtomicU64::new(system_ms()));
        (
            Clock {
                manual: Some(Arc::clone(&ms)),
            },
            ClockHand { ms },
        )
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        match &self.manual {
            Some(ms) => ms.load(Ordering::SeqCst),
            None => system_ms(),
        }
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }
}

impl ClockHand {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

fn system_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_clones_follow() {
        let (clock, hand) = Clock::manual();
        let copy = clock.clone();
        let start = clock.now_ms();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now_ms(), start);
        hand.advance(Duration::from_millis(1500));
        assert_eq!(copy.now_ms(), start + 1500);
        assert!(clock.is_manual() && !Clock::system().is_manual());
    }
}
