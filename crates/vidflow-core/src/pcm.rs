//! Narration audio that does not grow the process with the video's length.
//!
//! Thirty minutes of 24 kHz speech is 86 MB of samples: more than the whole rest of a render
//! needs. [`Pcm`] keeps short audio in memory and moves long audio to an unlinked temporary
//! file as it is written ([`PcmWriter`]), so every stage after `speak` reads it in pieces
//! and a long job's peak memory stays that of a short one. The file has no name on disk: it
//! goes away with the last [`Pcm`] that uses it, whatever happens to the process.
//!
//! ```
//! use vidflow_core::{Pcm, PcmWriter};
//!
//! let mut w = PcmWriter::with_spill_at(4); // tiny, to show the spill
//! w.push(&[1, 2, 3]).unwrap();
//! w.push_silence(2).unwrap();
//! let pcm: Pcm = w.finish().unwrap();
//! assert!(pcm.is_on_disk());
//! assert_eq!(pcm.to_vec().unwrap(), [1, 2, 3, 0, 0]);
//! let mut seen = Vec::new();
//! pcm.for_each_chunk(2, |c| { seen.push(c.to_vec()); Ok(()) }).unwrap();
//! assert_eq!(seen, [vec![1, 2], vec![3, 0], vec![0]]);
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Samples kept in memory before a [`PcmWriter`] moves them to a file: about 44 s of 24 kHz
/// audio, 2 MiB.
pub const SPILL_AT: usize = 1 << 20;

/// Samples read at a time from a file-backed [`Pcm`] (128 KiB).
const READ_CHUNK: usize = 64 * 1024;

/// Mono 16-bit samples, in memory or in an unlinked temporary file; cheap to clone (shared).
#[derive(Clone)]
pub struct Pcm {
    store: Arc<Store>,
}

enum Store {
    Memory(Vec<i16>),
    /// Little-endian samples from offset 0; `len` samples.
    File {
        file: File,
        len: usize,
    },
}

impl Pcm {
    /// Audio held in memory as given.
    pub fn from_vec(samples: Vec<i16>) -> Pcm {
        Pcm {
            store: Arc::new(Store::Memory(samples)),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        match &*self.store {
            Store::Memory(v) => v.len(),
            Store::File { len, .. } => *len,
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the samples live in a temporary file rather than in memory.
    pub fn is_on_disk(&self) -> bool {
        matches!(&*self.store, Store::File { .. })
    }

    /// The samples in memory, when they are there (short audio).
    pub fn as_slice(&self) -> Option<&[i16]> {
        match &*self.store {
            Store::Memory(v) => Some(v),
            Store::File { .. } => None,
        }
    }

    /// Calls `f` with consecutive pieces of at most `chunk` samples (at least 1), in order,
    /// stopping at the first error.
    pub fn for_each_chunk(
        &self,
        chunk: usize,
        mut f: impl FnMut(&[i16]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let chunk = chunk.max(1);
        match &*self.store {
            Store::Memory(v) => v.chunks(chunk).try_for_each(f),
            Store::File { file, len } => {
                let mut bytes = vec![0u8; chunk.min(*len).max(1) * 2];
                let mut samples = Vec::with_capacity(chunk.min(*len));
                let mut at = 0;
                while at < *len {
                    let n = chunk.min(len - at);
                    file.read_exact_at(&mut bytes[..n * 2], at as u64 * 2)?;
                    samples.clear();
                    samples.extend(
                        bytes[..n * 2]
                            .chunks_exact(2)
                            .map(|b| i16::from_le_bytes([b[0], b[1]])),
                    );
                    f(&samples)?;
                    at += n;
                }
                Ok(())
            }
        }
    }

    /// All the samples in one vector (for short audio and tests: it costs the whole length
    /// in memory).
    pub fn to_vec(&self) -> std::io::Result<Vec<i16>> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each_chunk(READ_CHUNK, |c| {
            out.extend_from_slice(c);
            Ok(())
        })?;
        Ok(out)
    }
}

impl Default for Pcm {
    fn default() -> Pcm {
        Pcm::from_vec(Vec::new())
    }
}

impl From<Vec<i16>> for Pcm {
    fn from(samples: Vec<i16>) -> Pcm {
        Pcm::from_vec(samples)
    }
}

impl std::fmt::Debug for Pcm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pcm")
            .field("len", &self.len())
            .field("on_disk", &self.is_on_disk())
            .finish()
    }
}

/// Equal when the samples are; a file that cannot be read compares unequal.
impl PartialEq for Pcm {
    fn eq(&self, other: &Pcm) -> bool {
        if self.len() != other.len() {
            return false;
        }
        if let (Some(a), Some(b)) = (self.as_slice(), other.as_slice()) {
            return a == b;
        }
        let mut theirs = Vec::with_capacity(READ_CHUNK);
        let mut at = 0;
        let mut equal = true;
        let read = self.for_each_chunk(READ_CHUNK, |mine| {
            theirs.clear();
            // Read the same span of the other side.
            let end = at + mine.len();
            other_span(other, at, end, &mut theirs)?;
            if mine != theirs.as_slice() {
                equal = false;
                return Err(std::io::Error::other("differs"));
            }
            at = end;
            Ok(())
        });
        read.is_ok() && equal
    }
}

/// Samples `start..end` of `pcm` appended to `out`.
fn other_span(pcm: &Pcm, start: usize, end: usize, out: &mut Vec<i16>) -> std::io::Result<()> {
    match &*pcm.store {
        Store::Memory(v) => {
            out.extend_from_slice(&v[start..end]);
            Ok(())
        }
        Store::File { file, .. } => {
            let mut bytes = vec![0u8; (end - start) * 2];
            file.read_exact_at(&mut bytes, start as u64 * 2)?;
            out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]])),
            );
            Ok(())
        }
    }
}

/// The same bytes as a `Vec<i16>` would give (a length, then the samples), written piece
/// by piece: cached speech from before [`Pcm`] reads back unchanged.
impl Serialize for Pcm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        let mut failed = None;
        let read = self.for_each_chunk(READ_CHUNK, |c| {
            for s in c {
                if let Err(e) = seq.serialize_element(s) {
                    failed = Some(e);
                    return Err(std::io::Error::other("serialiser failed"));
                }
            }
            Ok(())
        });
        if let Some(e) = failed {
            return Err(e);
        }
        read.map_err(|e| serde::ser::Error::custom(format!("cannot read the audio back: {e}")))?;
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Pcm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pcm, D::Error> {
        struct Samples;
        impl<'de> Visitor<'de> for Samples {
            type Value = Pcm;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence of 16-bit samples")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pcm, A::Error> {
                let mut w = PcmWriter::new();
                let mut piece = Vec::with_capacity(READ_CHUNK);
                let io = |e: std::io::Error| {
                    serde::de::Error::custom(format!("cannot store the audio: {e}"))
                };
                while let Some(s) = seq.next_element::<i16>()? {
                    piece.push(s);
                    if piece.len() == READ_CHUNK {
                        w.push(&piece).map_err(io)?;
                        piece.clear();
                    }
                }
                w.push(&piece).map_err(io)?;
                w.finish().map_err(io)
            }
        }
        deserializer.deserialize_seq(Samples)
    }
}

/// Builds a [`Pcm`] by appending: in memory up to a limit ([`SPILL_AT`] samples by
/// default), then in an unlinked temporary file.
pub struct PcmWriter {
    memory: Vec<i16>,
    file: Option<BufWriter<File>>,
    len: usize,
    spill_at: usize,
}

impl Default for PcmWriter {
    fn default() -> PcmWriter {
        PcmWriter::new()
    }
}

impl PcmWriter {
    /// A writer that spills past [`SPILL_AT`] samples.
    pub fn new() -> PcmWriter {
        PcmWriter::with_spill_at(SPILL_AT)
    }

    /// A writer that spills past `samples` samples.
    pub fn with_spill_at(samples: usize) -> PcmWriter {
        PcmWriter {
            memory: Vec::new(),
            file: None,
            len: 0,
            spill_at: samples,
        }
    }

    /// Samples written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends samples.
    pub fn push(&mut self, samples: &[i16]) -> std::io::Result<()> {
        if self.file.is_none() && self.memory.len() + samples.len() > self.spill_at {
            // Into a file with no name: nothing is left behind, however the process ends.
            let mut file = BufWriter::with_capacity(256 * 1024, tempfile::tempfile()?);
            write_le(&mut file, &self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => write_le(file, samples)?,
            None => self.memory.extend_from_slice(samples),
        }
        self.len += samples.len();
        Ok(())
    }

    /// Appends `count` samples of silence.
    pub fn push_silence(&mut self, count: usize) -> std::io::Result<()> {
        let zeros = [0i16; 4096];
        let mut left = count;
        while left > 0 {
            let n = left.min(zeros.len());
            self.push(&zeros[..n])?;
            left -= n;
        }
        Ok(())
    }

    /// The audio written.
    pub fn finish(self) -> std::io::Result<Pcm> {
        let store = match self.file {
            None => Store::Memory(self.memory),
            Some(file) => {
                let file = file.into_inner().map_err(|e| e.into_error())?;
                Store::File {
                    file,
                    len: self.len,
                }
            }
        };
        Ok(Pcm {
            store: Arc::new(store),
        })
    }
}

fn write_le(out: &mut impl Write, samples: &[i16]) -> std::io::Result<()> {
    let mut bytes = [0u8; 8192];
    for piece in samples.chunks(bytes.len() / 2) {
        for (b, s) in bytes.chunks_exact_mut(2).zip(piece) {
            b.copy_from_slice(&s.to_le_bytes());
        }
        out.write_all(&bytes[..piece.len() * 2])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (i as i64 % 65_536 - 32_768) as i16)
            .collect()
    }

    #[test]
    fn a_spilled_pcm_reads_back_what_was_written_in_any_chunk_size() {
        let samples = ramp(200_003);
        let mut w = PcmWriter::with_spill_at(70_000);
        for piece in samples.chunks(9_999) {
            w.push(piece).unwrap();
        }
        assert_eq!(w.len(), samples.len());
        let pcm = w.finish().unwrap();
        assert!(pcm.is_on_disk());
        assert_eq!(pcm.len(), samples.len());
        assert_eq!(pcm.to_vec().unwrap(), samples);
        for chunk in [1, 7, 65_536, 1_000_000] {
            let mut got = Vec::new();
            pcm.for_each_chunk(chunk, |c| {
                assert!(c.len() <= chunk && !c.is_empty());
                got.extend_from_slice(c);
                Ok(())
            })
            .unwrap();
            assert_eq!(got, samples, "chunk {chunk}");
        }
        assert_eq!(pcm, Pcm::from_vec(samples.clone()));
        let mut other = samples;
        other[150_000] ^= 1;
        assert_ne!(pcm, Pcm::from_vec(other));
    }

    #[test]
    fn short_audio_stays_in_memory() {
        let mut w = PcmWriter::new();
        w.push(&[5; 100]).unwrap();
        w.push_silence(10_000).unwrap();
        let pcm = w.finish().unwrap();
        assert!(!pcm.is_on_disk());
        assert_eq!(pcm.len(), 10_100);
        assert_eq!(pcm.as_slice().unwrap()[99..101], [5, 0]);
    }

    #[test]
    fn serialises_exactly_like_a_vec_of_samples_and_back_from_either() {
        let samples = ramp(SPILL_AT + 1_000);
        let as_vec = postcard::to_stdvec(&samples).unwrap();
        let mut w = PcmWriter::with_spill_at(1_000);
        w.push(&samples).unwrap();
        let spilled = w.finish().unwrap();
        assert_eq!(postcard::to_stdvec(&spilled).unwrap(), as_vec);
        let back: Pcm = postcard::from_bytes(&as_vec).unwrap();
        assert!(back.is_on_disk(), "long audio read back spills too");
        assert_eq!(back, spilled);
        let short: Pcm =
            postcard::from_bytes(&postcard::to_stdvec(&vec![1i16, -1]).unwrap()).unwrap();
        assert_eq!(short.as_slice(), Some(&[1i16, -1][..]));
    }
}
