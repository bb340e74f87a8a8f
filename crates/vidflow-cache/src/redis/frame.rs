//! The self-checking layout of an entry in Redis: a head value, and parts for big entries.
//!
//! The payload is zstd-compressed, and the compressed bytes are cut into pieces so that no
//! single Redis value is larger than the configured part size. The first piece rides in the
//! head; the rest are parts stored under `<name>:p1`, `<name>:p2`, ...
//!
//! ```text
//! head                                      part n
//! offset  size  field                       offset  size  field
//!      0     4  magic "VFRH"                     0     4  magic "VFRP"
//!      4     4  format version (u32 LE)          4     8  nonce of its write (u64 LE)
//!      8     8  nonce of this write (u64 LE)    12     4  n (u32 LE, from 1)
//!     16     8  payload length, uncompressed    16     …  the n-th further piece
//!     24     8  compressed length, all pieces
//!     32     4  part count (pieces after the head's)
//!     36    32  blake3 of key, bytes 0..36 and the payload
//!     68     8  blake3 of key and bytes 0..68, first 8 bytes (header check)
//!     76     …  first piece
//! ```
//!
//! The header check lets a reader refuse a damaged head before fetching any part (a flipped
//! bit in the part count must not send it after millions of keys). The nonce, fresh for
//! every write, ties parts to their head, so a reader never assembles pieces of two writes;
//! the payload checksum, covering the key too, catches everything else, including a value
//! copied under another key's name.

use std::io::Read;

/// First bytes of a head value.
const HEAD_MAGIC: [u8; 4] = *b"VFRH";
/// First bytes of a part value.
const PART_MAGIC: [u8; 4] = *b"VFRP";
/// Bump when the layout changes; entries of other versions are discarded as unreadable.
const FORMAT_VERSION: u32 = 1;
/// Bytes of the head before its piece.
pub(crate) const HEAD_LEN: usize = 76;
/// Bytes of a part before its piece.
pub(crate) const PART_HEADER_LEN: usize = 16;
const SUMMED_PREFIX: usize = 36;
const CHECKED_PREFIX: usize = 68;
/// zstd's default level: fast, and stage outputs (JSON-ish postcard, PCM) shrink well; an
/// MP4 does not, and zstd stores such blocks raw at little cost.
const ZSTD_LEVEL: i32 = 3;

/// Why a stored value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// Shorter than its header.
    Truncated { len: usize },
    /// Does not start with the magic of a head (or part).
    BadMagic,
    /// Written by another format version.
    UnsupportedVersion(u32),
    /// The header check does not match (damaged header, or stored for another key).
    HeaderCheck,
    /// The header's lengths and part count contradict each other or the value's length.
    Inconsistent,
    /// A part the head announces is not there (expired, evicted or deleted).
    MissingPart(u32),
    /// A part belongs to another write, or sits at the wrong index.
    ForeignPart(u32),
    /// The compressed bytes do not decompress to the declared length.
    Decompress(String),
    /// The payload checksum does not match.
    ChecksumMismatch,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::Truncated { len } => write!(f, "truncated: {len} bytes"),
            Invalid::BadMagic => f.write_str("not a vidflow cache value (bad magic)"),
            Invalid::UnsupportedVersion(v) => {
                write!(f, "value format version {v}, expected {FORMAT_VERSION}")
            }
            Invalid::HeaderCheck => f.write_str("header check mismatch"),
            Invalid::Inconsistent => f.write_str("header lengths do not add up"),
            Invalid::MissingPart(n) => write!(f, "part {n} is missing"),
            Invalid::ForeignPart(n) => write!(f, "part {n} belongs to another write"),
            Invalid::Decompress(why) => write!(f, "does not decompress: {why}"),
            Invalid::ChecksumMismatch => f.write_str("blake3 checksum mismatch"),
        }
    }
}

/// An entry ready to be written: the parts first, then the head.
#[derive(Debug)]
pub(crate) struct Frames {
    /// The head value.
    pub head: Vec<u8>,
    /// Part values, `parts[i]` stored under `:p{i + 1}`.
    pub parts: Vec<Vec<u8>>,
}

/// What a verified head announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// The write's nonce, which every part must carry.
    pub nonce: u64,
    /// Parts to fetch after the head.
    pub part_count: u32,
    payload_len: u64,
    compressed_len: u64,
    sum: [u8; 32],
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn payload_sum(key: &[u8], prefix: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(key);
    h.update(prefix);
    h.update(payload);
    *h.finalize().as_bytes()
}

fn header_check(key: &[u8], prefix: &[u8]) -> [u8; 8] {
    let mut h = blake3::Hasher::new();
    h.update(key);
    h.update(prefix);
    h.finalize().as_bytes()[..8].try_into().expect("8 bytes")
}

/// Compresses `payload` and cuts it into a head and parts of at most `part_bytes` each.
pub(crate) fn encode(
    key: &str,
    payload: &[u8],
    nonce: u64,
    part_bytes: usize,
) -> std::io::Result<Frames> {
    debug_assert!(part_bytes > HEAD_LEN.max(PART_HEADER_LEN));
    let compressed = zstd::bulk::compress(payload, ZSTD_LEVEL)?;
    let inline = compressed.len().min(part_bytes - HEAD_LEN);
    let rest = &compressed[inline..];
    let pieces: Vec<&[u8]> = rest.chunks(part_bytes - PART_HEADER_LEN).collect();
    let part_count = u32::try_from(pieces.len())
        .map_err(|_| std::io::Error::other("value needs more than 2^32 parts"))?;

    let key = key.as_bytes();
    let mut head = Vec::with_capacity(HEAD_LEN + inline);
    head.extend_from_slice(&HEAD_MAGIC);
    head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    head.extend_from_slice(&nonce.to_le_bytes());
    head.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    head.extend_from_slice(&(compressed.len() as u64).to_le_bytes());
    head.extend_from_slice(&part_count.to_le_bytes());
    let sum = payload_sum(key, &head[..SUMMED_PREFIX], payload);
    head.extend_from_slice(&sum);
    let check = header_check(key, &head[..CHECKED_PREFIX]);
    head.extend_from_slice(&check);
    head.extend_from_slice(&compressed[..inline]);

    let parts = pieces
        .iter()
        .zip(1u32..)
        .map(|(piece, n)| {
            let mut part = Vec::with_capacity(PART_HEADER_LEN + piece.len());
            part.extend_from_slice(&PART_MAGIC);
            part.extend_from_slice(&nonce.to_le_bytes());
            part.extend_from_slice(&n.to_le_bytes());
            part.extend_from_slice(piece);
            part
        })
        .collect();
    Ok(Frames { head, parts })
}

/// Checks a head value read for `key` and says what it announces.
pub(crate) fn parse_head(blob: &[u8], key: &str) -> Result<Head, Invalid> {
    if blob.len() < HEAD_LEN {
        // Four bytes are enough to tell a foreign value from a short one of ours.
        if blob.len() >= 4 && blob[..4] != HEAD_MAGIC {
            return Err(Invalid::BadMagic);
        }
        return Err(Invalid::Truncated { len: blob.len() });
    }
    if blob[..4] != HEAD_MAGIC {
        return Err(Invalid::BadMagic);
    }
    let version = u32_at(blob, 4);
    if version != FORMAT_VERSION {
        return Err(Invalid::UnsupportedVersion(version));
    }
    if header_check(key.as_bytes(), &blob[..CHECKED_PREFIX])[..] != blob[CHECKED_PREFIX..HEAD_LEN] {
        return Err(Invalid::HeaderCheck);
    }
    let head = Head {
        nonce: u64_at(blob, 8),
        payload_len: u64_at(blob, 16),
        compressed_len: u64_at(blob, 24),
        part_count: u32_at(blob, 32),
        sum: blob[SUMMED_PREFIX..CHECKED_PREFIX]
            .try_into()
            .expect("32 bytes"),
    };
    let inline = (blob.len() - HEAD_LEN) as u64;
    let rest = head
        .compressed_len
        .checked_sub(inline)
        .ok_or(Invalid::Inconsistent)?;
    // Every part holds at least one byte, and there are parts exactly when bytes remain.
    if (rest == 0) != (head.part_count == 0) || u64::from(head.part_count) > rest {
        return Err(Invalid::Inconsistent);
    }
    Ok(head)
}

/// The piece a part value carries, if it is part `n` of the write `nonce`.
pub(crate) fn part_piece(blob: &[u8], nonce: u64, n: u32) -> Result<&[u8], Invalid> {
    if blob.len() <= PART_HEADER_LEN || blob[..4] != PART_MAGIC {
        return Err(Invalid::ForeignPart(n));
    }
    if u64_at(blob, 4) != nonce || u32_at(blob, 12) != n {
        return Err(Invalid::ForeignPart(n));
    }
    Ok(&blob[PART_HEADER_LEN..])
}

/// Decompresses the assembled pieces (the head's piece first) and checks them against the
/// head; returns the payload.
pub(crate) fn finish(
    head_blob: &[u8],
    head: &Head,
    key: &str,
    pieces: &[u8],
) -> Result<Vec<u8>, Invalid> {
    if pieces.len() as u64 != head.compressed_len {
        return Err(Invalid::Inconsistent);
    }
    // Read at most one byte past the declared length: enough to notice a longer stream
    // without letting a hostile one fill memory.
    let mut payload = Vec::with_capacity(head.payload_len.min(64 << 20) as usize);
    let decoder =
        zstd::stream::read::Decoder::new(pieces).map_err(|e| Invalid::Decompress(e.to_string()))?;
    decoder
        .take(head.payload_len.saturating_add(1))
        .read_to_end(&mut payload)
        .map_err(|e| Invalid::Decompress(e.to_string()))?;
    if payload.len() as u64 != head.payload_len {
        return Err(Invalid::Decompress(format!(
            "{} bytes where the header declares {}",
            payload.len(),
            head.payload_len
        )));
    }
    if payload_sum(key.as_bytes(), &head_blob[..SUMMED_PREFIX], &payload) != head.sum {
        return Err(Invalid::ChecksumMismatch);
    }
    Ok(payload)
}

/// Decodes a value without parts (tests and small entries).
#[cfg(test)]
fn decode_single(blob: &[u8], key: &str) -> Result<Vec<u8>, Invalid> {
    let head = parse_head(blob, key)?;
    if head.part_count != 0 {
        return Err(Invalid::MissingPart(1));
    }
    finish(blob, &head, key, &blob[HEAD_LEN..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assemble(frames: &Frames, key: &str) -> Result<Vec<u8>, Invalid> {
        let head = parse_head(&frames.head, key)?;
        let mut pieces = frames.head[HEAD_LEN..].to_vec();
        for n in 1..=head.part_count {
            let part = frames
                .parts
                .get(n as usize - 1)
                .ok_or(Invalid::MissingPart(n))?;
            pieces.extend_from_slice(part_piece(part, head.nonce, n)?);
        }
        finish(&frames.head, &head, key, &pieces)
    }

    /// Bytes zstd cannot shrink, so that the part split is predictable.
    fn noise(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 32);
        let mut block = *blake3::hash(b"seed").as_bytes();
        while out.len() < len {
            block = *blake3::hash(&block).as_bytes();
            out.extend_from_slice(&block);
        }
        out.truncate(len);
        out
    }

    #[test]
    fn small_value_fits_in_the_head() {
        let frames = encode("speak-01", b"hello hello hello", 7, 1024).unwrap();
        assert!(frames.parts.is_empty());
        assert_eq!(
            decode_single(&frames.head, "speak-01").unwrap(),
            b"hello hello hello"
        );
    }

    #[test]
    fn big_value_splits_into_parts_no_larger_than_the_bound() {
        let payload = noise(10_000);
        let frames = encode("render-ab", &payload, 42, 1024).unwrap();
        assert!(frames.parts.len() >= 9, "{} parts", frames.parts.len());
        assert!(frames.head.len() <= 1024);
        assert!(frames.parts.iter().all(|p| p.len() <= 1024));
        assert_eq!(assemble(&frames, "render-ab").unwrap(), payload);
    }

    #[test]
    fn empty_payload_round_trips() {
        let frames = encode("k", b"", 1, 1024).unwrap();
        assert_eq!(decode_single(&frames.head, "k").unwrap(), b"");
    }

    #[test]
    fn every_single_byte_flip_of_a_head_is_caught() {
        let frames = encode(
            "script-9",
            b"some narration text, twice: some narration",
            3,
            1024,
        )
        .unwrap();
        for i in 0..frames.head.len() {
            let mut bad = frames.head.clone();
            bad[i] ^= 0x01;
            assert!(
                decode_single(&bad, "script-9").is_err(),
                "flip at byte {i} was not detected"
            );
        }
    }

    #[test]
    fn a_damaged_or_foreign_part_is_caught() {
        let payload = noise(3000);
        let frames = encode("k", &payload, 5, 1024).unwrap();
        let mut flipped = frames.parts.clone();
        let last = flipped[1].len() - 1;
        flipped[1][last] ^= 0x80;
        let damaged = Frames {
            head: frames.head.clone(),
            parts: flipped,
        };
        assert!(assemble(&damaged, "k").is_err());

        // A part of another write of the same key, with the same index, is refused.
        let other = encode("k", &payload, 6, 1024).unwrap();
        let mixed = Frames {
            head: frames.head.clone(),
            parts: vec![frames.parts[0].clone(), other.parts[1].clone()],
        };
        assert_eq!(assemble(&mixed, "k"), Err(Invalid::ForeignPart(2)));
        let swapped = Frames {
            head: frames.head.clone(),
            parts: vec![frames.parts[1].clone(), frames.parts[0].clone()],
        };
        assert_eq!(assemble(&swapped, "k"), Err(Invalid::ForeignPart(1)));
    }

    #[test]
    fn wrong_key_foreign_bytes_and_truncation_are_refused() {
        let frames = encode("a", b"x", 1, 1024).unwrap();
        assert_eq!(decode_single(&frames.head, "b"), Err(Invalid::HeaderCheck));
        assert_eq!(
            decode_single(b"just some string a user SET", "a"),
            Err(Invalid::BadMagic)
        );
        assert!(matches!(
            decode_single(&frames.head[..HEAD_LEN - 1], "a"),
            Err(Invalid::Truncated { .. })
        ));
        // Cutting the inline piece contradicts the declared compressed length.
        let cut = &frames.head[..frames.head.len() - 1];
        assert_eq!(decode_single(cut, "a"), Err(Invalid::Inconsistent));
    }
}
