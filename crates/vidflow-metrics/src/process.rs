//! This process's memory and CPU time, read through procfs. Platforms without a /proc do not
//! tell, so there every figure is `None` and the gauges that use them stay unset.

#[cfg(target_os = "linux")]
use procfs::process::Process;

/// Resident set size of this process (`/proc/self/statm`).
#[cfg(target_os = "linux")]
pub(crate) fn resident_bytes() -> Option<u64> {
    let statm = Process::myself().ok()?.statm().ok()?;
    Some(statm.resident * procfs::page_size())
}

/// User plus system CPU seconds of this process (`/proc/self/stat`).
#[cfg(target_os = "linux")]
pub(crate) fn cpu_seconds() -> Option<f64> {
    let stat = Process::myself().ok()?.stat().ok()?;
    Some((stat.utime + stat.stime) as f64 / procfs::ticks_per_second().max(1) as f64)
}

/// The most memory this process has held resident so far (`VmHWM` in `/proc/self/status`),
/// for benchmarks; `None` where the platform does not tell (it does on Linux).
#[cfg(target_os = "linux")]
pub fn peak_resident_bytes() -> Option<u64> {
    let status = Process::myself().ok()?.status().ok()?;
    Some(status.vmhwm? * 1024)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn resident_bytes() -> Option<u64> {
    None
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn cpu_seconds() -> Option<f64> {
    None
}

/// The most memory this process has held resident so far, for benchmarks; `None` where the
/// platform does not tell (it does on Linux).
#[cfg(not(target_os = "linux"))]
pub fn peak_resident_bytes() -> Option<u64> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn figures_grow_with_what_the_process_does() {
        // Touch 8 MiB, so resident memory cannot honestly be less; the kernel counts CPU in
        // ticks (10 ms), so spin until it has counted a few, within a generous deadline.
        let ballast = std::hint::black_box(vec![1u8; 8 << 20]);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut spin = 0u64;
        while cpu_seconds().unwrap() < 0.05 && Instant::now() < deadline {
            for i in 0..1_000_000u64 {
                spin = std::hint::black_box(spin.wrapping_add(i ^ (spin >> 3)));
            }
        }
        assert!(cpu_seconds().unwrap() >= 0.05, "CPU seconds never grew");
        let resident = resident_bytes().unwrap();
        let peak = peak_resident_bytes().unwrap();
        assert!(resident >= 8 << 20, "resident {resident}");
        assert!(peak >= resident, "peak {peak} < resident {resident}");
        drop(ballast);
    }
}
