//! The stored forms of entries, as the disk and Redis tiers write and check them.
//!
//! The tiers use these same functions; they are public so that tools can check stored bytes
//! without a running cache, and so that the fuzzer can feed the decoders corrupt bytes, as
//! a damaged disk or a stranger with write access to Redis would.
//!
//! ```
//! use vidflow_cache::stored;
//!
//! let blob = stored::seal_disk_entry("speak-01", b"payload", 1_700_000_000_000);
//! assert_eq!(stored::open_disk_entry(blob.clone(), "speak-01").unwrap(), b"payload");
//! let mut damaged = blob;
//! *damaged.last_mut().unwrap() ^= 1;
//! assert!(stored::open_disk_entry(damaged, "speak-01").is_err());
//!
//! let (head, parts) = stored::seal_redis_value("speak-01", &[7; 5000], 42, 1024).unwrap();
//! assert_eq!(stored::open_redis_value(&head, &parts, "speak-01").unwrap(), vec![7; 5000]);
//! ```

use crate::entry;
use crate::redis::frame;

/// Why stored bytes were refused; the message says what check they failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEntry(String);

/// The disk tier's stored form of `payload` under `key`, written at `created_ms` (unix ms).
pub fn seal_disk_entry(key: &str, payload: &[u8], created_ms: u64) -> Vec<u8> {
    entry::encode(key, payload, created_ms)
}

/// The payload of a disk-tier blob read for `key`, after every check the disk tier makes.
///
/// # Errors
///
/// [`InvalidEntry`] when the blob is truncated, foreign, of another format version, fails
/// its checksum or was stored for another key.
pub fn open_disk_entry(blob: Vec<u8>, key: &str) -> Result<Vec<u8>, InvalidEntry> {
    entry::decode(blob, key)
        .map(|verified| verified.payload)
        .map_err(|invalid| InvalidEntry(invalid.to_string()))
}

/// The Redis tier's stored form of `payload` under `key`: the head value and the part values
/// (`parts[i]` is stored as part `i + 1`), none larger than `part_bytes` (at least 128).
///
/// # Errors
///
/// When compression fails, or `part_bytes` is too small to hold a header.
pub fn seal_redis_value(
    key: &str,
    payload: &[u8],
    nonce: u64,
    part_bytes: usize,
) -> std::io::Result<(Vec<u8>, Vec<Vec<u8>>)> {
    if part_bytes < 128 {
        return Err(std::io::Error::other(format!(
            "part size {part_bytes} is too small: use at least 128 bytes"
        )));
    }
    frame::encode(key, payload, nonce, part_bytes).map(|f| (f.head, f.parts))
}

/// The payload of a Redis-tier value read for `key`, `parts[i]` being what Redis holds for
/// part `i + 1`, after every check the Redis tier makes, in the same order.
///
/// # Errors
///
/// [`InvalidEntry`] when the head is damaged or foreign, a part is missing or belongs to
/// another write, the pieces do not decompress to the declared length, or the checksum
/// fails.
pub fn open_redis_value(
    head: &[u8],
    parts: &[Vec<u8>],
    key: &str,
) -> Result<Vec<u8>, InvalidEntry> {
    let invalid = |e: frame::Invalid| InvalidEntry(e.to_string());
    let parsed = frame::parse_head(head, key).map_err(invalid)?;
    let mut pieces = head[frame::HEAD_LEN..].to_vec();
    for n in 1..=parsed.part_count {
        let part = parts
            .get(n as usize - 1)
            .ok_or(frame::Invalid::MissingPart(n))
            .map_err(invalid)?;
        pieces.extend_from_slice(frame::part_piece(part, parsed.nonce, n).map_err(invalid)?);
    }
    frame::finish(head, &parsed, key, &pieces).map_err(invalid)
}
