//! The self-checking format of an entry on disk.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "VFCE"
//!      4     4  format version (u32 LE)
//!      8     4  key length in bytes (u32 LE)
//!     12     8  payload length in bytes (u64 LE)
//!     20     8  created-at, unix milliseconds (u64 LE), for the TTL
//!     28    32  blake3 of bytes 0..28, the key and the payload
//!     60     k  the key (UTF-8)
//!   60+k     n  the payload
//! ```
//!
//! The checksum covers the header fields and the key as well as the payload, so a flipped
//! bit in the length or the timestamp is caught too. Storing the key makes every stored blob
//! unique to its key, which lets the disk tier delete a blob without asking whether another
//! key shares it, and catches an index that points at the wrong content.

/// First bytes of every entry.
pub(crate) const MAGIC: [u8; 4] = *b"VFCE";
/// Bump when the layout changes; entries of other versions are discarded as unreadable.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Bytes before the key.
pub(crate) const HEADER_LEN: usize = 60;
const CHECKED_PREFIX: usize = 28;

/// Why a stored blob was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// Shorter than its header or its declared lengths.
    Truncated { len: usize, needed: u64 },
    /// Does not start with [`MAGIC`].
    BadMagic,
    /// Written by another format version.
    UnsupportedVersion(u32),
    /// Longer than its declared lengths.
    TrailingBytes { len: usize, declared: u64 },
    /// The checksum does not match the bytes.
    ChecksumMismatch,
    /// Stored for another key.
    KeyMismatch { stored: String },
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::Truncated { len, needed } => {
                write!(f, "truncated: {len} bytes where {needed} are needed")
            }
            Invalid::BadMagic => f.write_str("not a vidflow cache entry (bad magic)"),
            Invalid::UnsupportedVersion(v) => {
                write!(f, "entry format version {v}, expected {FORMAT_VERSION}")
            }
            Invalid::TrailingBytes { len, declared } => {
                write!(f, "{len} bytes where the header declares {declared}")
            }
            Invalid::ChecksumMismatch => f.write_str("blake3 checksum mismatch"),
            Invalid::KeyMismatch { stored } => write!(f, "entry was stored for key {stored:?}"),
        }
    }
}

fn checksum(prefix: &[u8], key: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(prefix);
    hasher.update(key);
    hasher.update(payload);
    *hasher.finalize().as_bytes()
}

/// Builds the stored form of `payload` under `key`.
pub(crate) fn encode(key: &str, payload: &[u8], created_ms: u64) -> Vec<u8> {
    let key = key.as_bytes();
    let mut out = Vec::with_capacity(HEADER_LEN + key.len() + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    // Keys are `stage-<hex>`, a few dozen bytes; u32 is far beyond any real one.
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&created_ms.to_le_bytes());
    let sum = checksum(&out[..CHECKED_PREFIX], key, payload);
    out.extend_from_slice(&sum);
    out.extend_from_slice(key);
    out.extend_from_slice(payload);
    out
}

/// A blob that passed every check.
#[derive(Debug)]
pub(crate) struct Verified {
    /// When it was written (unix ms).
    pub created_ms: u64,
    /// The payload.
    pub payload: Vec<u8>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Checks a stored blob read for `key` and returns its payload.
pub(crate) fn decode(mut blob: Vec<u8>, key: &str) -> Result<Verified, Invalid> {
    if blob.len() < HEADER_LEN {
        return Err(Invalid::Truncated {
            len: blob.len(),
            needed: HEADER_LEN as u64,
        });
    }
    if blob[..4] != MAGIC {
        return Err(Invalid::BadMagic);
    }
    let version = u32_at(&blob, 4);
    if version != FORMAT_VERSION {
        return Err(Invalid::UnsupportedVersion(version));
    }
    let key_len = u32_at(&blob, 8) as u64;
    let payload_len = u64_at(&blob, 12);
    let created_ms = u64_at(&blob, 20);
    // Checked arithmetic: a corrupted length must not overflow into a plausible value.
    let declared = (HEADER_LEN as u64)
        .checked_add(key_len)
        .and_then(|n| n.checked_add(payload_len))
        .ok_or(Invalid::ChecksumMismatch)?;
    let len = blob.len();
    if (len as u64) < declared {
        return Err(Invalid::Truncated {
            len,
            needed: declared,
        });
    }
    if (len as u64) > declared {
        return Err(Invalid::TrailingBytes { len, declared });
    }
    let key_end = HEADER_LEN + key_len as usize;
    let stored_key = &blob[HEADER_LEN..key_end];
    let stored_sum = &blob[CHECKED_PREFIX..HEADER_LEN];
    if checksum(&blob[..CHECKED_PREFIX], stored_key, &blob[key_end..]) != stored_sum {
        return Err(Invalid::ChecksumMismatch);
    }
    if stored_key != key.as_bytes() {
        return Err(Invalid::KeyMismatch {
            stored: String::from_utf8_lossy(stored_key).into_owned(),
        });
    }
    // Shift the payload to the front in place rather than copying it into a new buffer.
    blob.drain(..key_end);
    Ok(Verified {
        created_ms,
        payload: blob,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let blob = encode("fetch-abc", b"hello", 42);
        assert_eq!(blob.len(), HEADER_LEN + 9 + 5);
        let v = decode(blob, "fetch-abc").unwrap();
        assert_eq!(v.payload, b"hello");
        assert_eq!(v.created_ms, 42);
    }

    #[test]
    fn empty_payload_round_trips() {
        let v = decode(encode("k", b"", 1), "k").unwrap();
        assert!(v.payload.is_empty());
    }

    #[test]
    fn every_single_byte_flip_is_caught() {
        let blob = encode("speak-0123", b"some narration bytes", 1_700_000_000_000);
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            assert!(
                decode(bad, "speak-0123").is_err(),
                "flip at byte {i} was not detected"
            );
        }
    }

    #[test]
    fn truncation_and_extension_are_caught() {
        let blob = encode("k", b"payload", 7);
        for cut in 0..blob.len() {
            assert!(matches!(
                decode(blob[..cut].to_vec(), "k"),
                Err(Invalid::Truncated { .. })
            ));
        }
        let mut longer = blob.clone();
        longer.push(0);
        assert!(matches!(
            decode(longer, "k"),
            Err(Invalid::TrailingBytes { .. })
        ));
    }

    #[test]
    fn wrong_key_magic_and_version_are_refused() {
        let blob = encode("a", b"x", 1);
        assert_eq!(
            decode(blob.clone(), "b").unwrap_err(),
            Invalid::KeyMismatch { stored: "a".into() }
        );
        let mut bad = blob.clone();
        bad[..4].copy_from_slice(b"XXXX");
        assert_eq!(decode(bad, "a").unwrap_err(), Invalid::BadMagic);
        let mut v2 = blob;
        v2[4..8].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(decode(v2, "a").unwrap_err(), Invalid::UnsupportedVersion(2));
    }

    #[test]
    fn huge_declared_lengths_do_not_overflow() {
        let mut blob = encode("k", b"x", 1);
        blob[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode(blob, "k").is_err());
    }
}
