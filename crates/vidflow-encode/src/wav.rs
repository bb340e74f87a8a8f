//! Mono 16-bit PCM WAV files, the form ffmpeg reads the narration in.

use std::io::{BufWriter, Write};
use std::path::Path;

use vidflow_core::Pcm;

use crate::EncodeError;
use crate::atomic::{partial_file, persist};

/// Bytes of the canonical 44-byte header (RIFF, `fmt ` chunk, `data` chunk header).
const HEADER_LEN: usize = 44;

/// Writes mono 16-bit PCM samples as a WAV file, atomically (temporary file + rename),
/// streaming them: a long narration kept on disk is never all in memory.
///
/// ```
/// use vidflow_core::Pcm;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("beep.wav");
/// let samples: Vec<i16> = (0..800).map(|i| if i % 20 < 10 { 8000 } else { -8000 }).collect();
/// vidflow_encode::write_wav(&path, &Pcm::from(samples), 16_000).unwrap();
/// assert_eq!(std::fs::metadata(&path).unwrap().len(), 44 + 1600);
/// ```
pub fn write_wav(path: &Path, samples: &Pcm, sample_rate: u32) -> Result<(), EncodeError> {
    let header = wav_header(samples.len(), sample_rate)?;
    let mut temp = partial_file(path, false)?;
    let temp_path = temp.path().to_path_buf();
    let written = (|| {
        let mut out = BufWriter::with_capacity(256 * 1024, temp.as_file_mut());
        out.write_all(&header)?;
        let mut bytes = Vec::with_capacity(64 * 1024 * 2);
        samples.for_each_chunk(64 * 1024, |piece| {
            bytes.clear();
            bytes.extend(piece.iter().flat_map(|s| s.to_le_bytes()));
            out.write_all(&bytes)
        })?;
        out.flush()?;
        drop(out);
        temp.as_file().sync_all()
    })();
    written.map_err(|e| EncodeError::io(format!("writing {}", temp_path.display()), e))?;
    persist(temp.into_temp_path(), path)
}

/// The 44-byte header of a WAV file of `len` mono 16-bit samples.
fn wav_header(len: usize, sample_rate: u32) -> Result<Vec<u8>, EncodeError> {
    if sample_rate == 0 {
        return Err(EncodeError::InvalidSettings(
            "WAV sample rate must be at least 1 Hz".into(),
        ));
    }
    let data_len = u32::try_from(len * 2)
        .ok()
        .filter(|n| n.checked_add(HEADER_LEN as u32 - 8).is_some())
        .ok_or_else(|| {
            EncodeError::InvalidSettings(format!(
                "{len} samples do not fit in a WAV file (4 GiB at most)"
            ))
        })?;
    let channels: u16 = 1;
    let bits: u16 = 16;
    let block_align = channels * bits / 8;
    let byte_rate = sample_rate
        .checked_mul(u32::from(block_align))
        .ok_or_else(|| {
            EncodeError::InvalidSettings(format!("sample rate {sample_rate} Hz is too high"))
        })?;

    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(data_len + HEADER_LEN as u32 - 8).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // size of the PCM fmt chunk
    out.extend_from_slice(&1u16.to_le_bytes()); // format 1 = integer PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    debug_assert_eq!(out.len(), HEADER_LEN);
    Ok(out)
}

/// The complete file in memory (tests).
#[cfg(test)]
fn wav_bytes(samples: &[i16], sample_rate: u32) -> Result<Vec<u8>, EncodeError> {
    let mut out = wav_header(samples.len(), sample_rate)?;
    out.extend(samples.iter().flat_map(|s| s.to_le_bytes()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        let bytes = wav_bytes(&[1, -2, 3], 22_050).unwrap();
        assert_eq!(bytes.len(), 50);
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 42);
        assert_eq!(&bytes[8..16], b"WAVEfmt ");
        assert_eq!(
            u32::from_le_bytes(bytes[24..28].try_into().unwrap()),
            22_050
        );
        assert_eq!(
            u32::from_le_bytes(bytes[28..32].try_into().unwrap()),
            44_100
        );
        assert_eq!(&bytes[36..40], b"data");
        assert_eq!(u32::from_le_bytes(bytes[40..44].try_into().unwrap()), 6);
        assert_eq!(&bytes[44..], &[1, 0, 0xfe, 0xff, 3, 0]);
    }

    #[test]
    fn zero_sample_rate_is_refused() {
        let err = wav_bytes(&[0], 0).unwrap_err();
        assert!(err.to_string().contains("sample rate"), "{err}");
    }

    #[test]
    fn empty_audio_is_a_valid_file() {
        assert_eq!(wav_bytes(&[], 8000).unwrap().len(), HEADER_LEN);
    }

    #[test]
    fn audio_kept_on_disk_is_written_like_audio_in_memory() {
        let samples: Vec<i16> = (0..300_001)
            .map(|i| (i * 37 % 65_536 - 32_768) as i16)
            .collect();
        let mut w = vidflow_core::PcmWriter::with_spill_at(10_000);
        w.push(&samples).unwrap();
        let pcm = w.finish().unwrap();
        assert!(pcm.is_on_disk());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.wav");
        write_wav(&path, &pcm, 24_000).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            wav_bytes(&samples, 24_000).unwrap()
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }
}
