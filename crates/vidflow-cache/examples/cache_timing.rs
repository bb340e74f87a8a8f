//! Times puts and gets of the memory, disk and tiered caches for a few payload sizes.
//!
//! `cargo run -p vidflow-cache --release --example cache_timing`. The disk store lives in a
//! fresh folder under the system temporary directory (`TMPDIR` picks the file system), removed
//! at the end.

use std::sync::Arc;
use std::time::Instant;

use vidflow_cache::{CacheBackend, DiskCache, MemoryCache, TieredCache};
use vidflow_core::ContentKey;

const ROUNDS: u32 = 20;

fn key(size: usize, n: u32) -> ContentKey {
    ContentKey::builder("timing", 1)
        .param("size", size.to_string())
        .param("n", n.to_string())
        .build()
}

/// Mean milliseconds of `ROUNDS` runs of `f`.
async fn mean_ms<F, Fut>(mut f: F) -> f64
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    for n in 0..ROUNDS {
        f(n).await;
    }
    start.elapsed().as_secs_f64() * 1000.0 / f64::from(ROUNDS)
}

#[tokio::main]
async fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("vidflow-cache-timing-{}", std::process::id()))
        });
    let disk = DiskCache::open(&dir, None, None).expect("cache directory");
    let memory = MemoryCache::new(1 << 30, None);
    println!("size_bytes,memory_put_ms,memory_get_ms,disk_put_ms,disk_get_ms,tiered_cold_get_ms");
    for size in [1_000usize, 100_000, 1_000_000, 10_000_000] {
        let value: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let mem_put = mean_ms(|n| {
            let (memory, value) = (&memory, &value);
            async move { memory.put(&key(size, n), value).await.unwrap() }
        })
        .await;
        let mem_get = mean_ms(|n| {
            let memory = &memory;
            async move { assert!(memory.get(&key(size, n)).await.unwrap().is_some()) }
        })
        .await;
        let disk_put = mean_ms(|n| {
            let (disk, value) = (&disk, &value);
            async move { disk.put(&key(size, n), value).await.unwrap() }
        })
        .await;
        let disk_get = mean_ms(|n| {
            let disk = &disk;
            async move { assert!(disk.get(&key(size, n)).await.unwrap().is_some()) }
        })
        .await;
        // A new process's first look-up: memory misses, disk hits and fills memory.
        let tiered = TieredCache::new(vec![
            Arc::new(MemoryCache::new(1 << 30, None)),
            Arc::new(disk.clone()),
        ]);
        let cold = mean_ms(|n| {
            let tiered = &tiered;
            async move { assert_eq!(tiered.get(&key(size, n)).await.unwrap().backend, "disk") }
        })
        .await;
        println!("{size},{mem_put:.3},{mem_get:.3},{disk_put:.3},{disk_get:.3},{cold:.3}");
    }
    disk.clear().await.expect("clear");
    let _ = std::fs::remove_dir_all(&dir);
}
