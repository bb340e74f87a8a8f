//! Mono 16-bit PCM WAV files, the form ffmpeg reads the narration in.

use std::path::Path;

use crate::{EncodeError, write_atomic};

/// Bytes of the canonical 44-byte header (RIFF, `fmt ` chunk, `data` chunk header).
const HEADER_LEN: usize = 44;

/// Writes mono 16-bit PCM samples as a WAV file, atomically (temporary file + rename).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("beep.wav");
/// let samples: Vec<i16> = (0..800).map(|i| if i % 20 < 10 { 8000 } else { -8000 }).collect();
/// vidflow_encode::write_wav(&path, &samples, 16_000).unwrap();
/// assert_eq!(std::fs::metadata(&path).unwrap().len(), 44 + 1600);
/// ```
pub fn write_wav(path: &Path, samples: &[i16], sample_rate: u32) -> Result<(), EncodeError> {
    let bytes = wav_bytes(samples, sample_rate)?;
    write_atomic(path, &bytes)
}

/// The complete file: header then little-endian samples.
fn wav_bytes(samples: &[i16], sample_rate: u32) -> Result<Vec<u8>, EncodeError> {
    if sample_rate == 0 {
        return Err(EncodeError::InvalidSettings(
            "WAV sample rate must be at least 1 Hz".into(),
        ));
    }
    let data_len = u32::try_from(samples.len() * 2)
        .ok()
        .filter(|n| n.checked_add(HEADER_LEN as u32 - 8).is_some())
        .ok_or_else(|| {
            EncodeError::InvalidSettings(format!(
                "{} samples do not fit in a WAV file (4 GiB at most)",
                samples.len()
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

    let mut out = Vec::with_capacity(HEADER_LEN + data_len as usize);
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
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    debug_assert_eq!(out.len(), HEADER_LEN + data_len as usize);
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
}
