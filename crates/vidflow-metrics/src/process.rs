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

/// The memory this process may use: its cgroup's limit (`memory.max` on cgroup v2,
/// `memory.limit_in_bytes` on v1) when one is set and below the machine's RAM, else the
/// machine's RAM (`MemTotal`). What the OOM killer compares resident memory with, so the
/// memory alert can divide by it.
#[cfg(target_os = "linux")]
pub(crate) fn memory_limit_bytes() -> Option<u64> {
    use procfs::Current;
    let total = procfs::Meminfo::current().ok().map(|m| m.mem_total);
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let limit = cgroup_limit_files(&cgroups)
        .iter()
        .find_map(|path| read(path).and_then(|text| parse_limit(&text)));
    match (limit, total) {
        (Some(l), Some(t)) => Some(l.min(t)),
        (l, t) => l.or(t),
    }
}

/// The files that may hold this process's memory limit, most specific first, from the
/// text of `/proc/self/cgroup`. Inside a container the process's own cgroup is usually
/// mounted at the root, so the root's files come after the path-qualified ones.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn cgroup_limit_files(proc_self_cgroup: &str) -> Vec<String> {
    let mut files = Vec::new();
    for line in proc_self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_end_matches('/');
        if controllers.is_empty() {
            files.push(format!("/sys/fs/cgroup{path}/memory.max"));
            files.push("/sys/fs/cgroup/memory.max".to_owned());
        } else if controllers.split(',').any(|c| c == "memory") {
            files.push(format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"));
            files.push("/sys/fs/cgroup/memory/memory.limit_in_bytes".to_owned());
        }
    }
    // v1 before v2: on a hybrid machine the memory controller is the v1 one.
    files.sort_by_key(|f| !f.ends_with("limit_in_bytes"));
    files.dedup();
    files
}

/// A limit file's value: bytes, or `None` for "max" (v2) or a v1 "unlimited" (a page-rounded
/// `i64::MAX`), and for anything unreadable.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn parse_limit(text: &str) -> Option<u64> {
    let v: u64 = text.trim().parse().ok()?;
    (v > 0 && v < (1 << 62)).then_some(v)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn memory_limit_bytes() -> Option<u64> {
    None
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

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn limit_files_follow_the_process_cgroup() {
        let v2 = cgroup_limit_files("0::/system.slice/vidflow.service\n");
        assert_eq!(
            v2,
            [
                "/sys/fs/cgroup/system.slice/vidflow.service/memory.max",
                "/sys/fs/cgroup/memory.max"
            ]
        );
        let hybrid =
            cgroup_limit_files("12:cpu,cpuacct:/x\n4:memory:/docker/abc\n0::/docker/abc\n");
        assert_eq!(
            hybrid,
            [
                "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes",
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "/sys/fs/cgroup/docker/abc/memory.max",
                "/sys/fs/cgroup/memory.max"
            ]
        );
        assert_eq!(cgroup_limit_files("0::/\n"), ["/sys/fs/cgroup/memory.max"]);
    }

    #[test]
    fn unlimited_reads_as_no_limit() {
        assert_eq!(parse_limit("536870912\n"), Some(512 << 20));
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("9223372036854771712\n"), None);
        assert_eq!(parse_limit(""), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_limit_is_at_most_the_machines_memory() {
        use procfs::Current;
        let total = procfs::Meminfo::current().unwrap().mem_total;
        let limit = memory_limit_bytes().unwrap();
        assert!(limit > 0 && limit <= total, "limit {limit}, RAM {total}");
    }
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
