//! Chunked work, the unit of distributed work: a stage's output (a video's frames) split
//! into spans that workers do independently, each stored in the cache, then joined.

use serde::{Deserialize, Serialize};

use crate::error::VidflowError;

/// The fewest frames a chunk may have: x264 gives a segment of one or two frames a
/// different decoding delay, and such segments cannot be joined to the others.
pub const MIN_CHUNK_FRAMES: u64 = 3;

/// Frames `[start, end)` of a video, rendered and encoded as one closed-GOP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSpan {
    /// Position in the plan, from 0.
    pub index: u32,
    /// First frame.
    pub start: u64,
    /// One past the last frame.
    pub end: u64,
}

impl ChunkSpan {
    /// Number of frames.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True when the span holds no frames (never in a valid plan).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a request's video splits into chunks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkPlan {
    /// Frames in the whole video.
    pub frames: u64,
    /// Frames per second.
    pub fps: u32,
    /// Length of the video (the narration), seconds.
    pub duration: f64,
    /// Frames per chunk; the last chunk has fewer, or up to
    /// [`MIN_CHUNK_FRAMES`]` - 1` more when a tail too short to be a segment of its own
    /// joins it.
    pub chunk_frames: u64,
    /// The chunks in order; they tile `[0, frames)`.
    pub chunks: Vec<ChunkSpan>,
}

impl ChunkPlan {
    /// Splits `frames` frames at `fps` into chunks of `chunk_seconds` (rounded to whole
    /// frames, at least [`MIN_CHUNK_FRAMES`]). Chunk boundaries are where segments start,
    /// so each is a keyframe of the joined video.
    ///
    /// `chunk_seconds` that is not a positive finite number is bad input.
    pub fn new(
        frames: u64,
        fps: u32,
        duration: f64,
        chunk_seconds: f64,
    ) -> Result<ChunkPlan, VidflowError> {
        if !(chunk_seconds.is_finite() && chunk_seconds > 0.0) {
            return Err(VidflowError::bad_input(format!(
                "invalid chunk length {chunk_seconds} s: use a positive number of seconds"
            )));
        }
        if frames == 0 || fps == 0 {
            return Err(VidflowError::internal(format!(
                "cannot split a video of {frames} frames at {fps} fps into chunks"
            )));
        }
        // `as` saturates, so an enormous chunk length is simply one chunk.
        let chunk_frames = ((chunk_seconds * fps as f64).round() as u64)
            .max(MIN_CHUNK_FRAMES)
            .min(frames);
        let mut chunks = Vec::new();
        let mut start = 0;
        while start < frames {
            let mut end = start.saturating_add(chunk_frames).min(frames);
            // x264 gives a segment of one or two frames a different decoding delay, and such
            // segments cannot be joined to the others: the last chunk takes the tail instead.
            if frames - end < MIN_CHUNK_FRAMES {
                end = frames;
            }
            let index = u32::try_from(chunks.len()).map_err(|_| {
                VidflowError::bad_input(format!(
                    "chunk length {chunk_seconds} s makes too many chunks"
                ))
            })?;
            chunks.push(ChunkSpan { index, start, end });
            start = end;
        }
        Ok(ChunkPlan {
            frames,
            fps,
            duration,
            chunk_frames,
            chunks,
        })
    }

    /// What the plan splits: (frames, fps).
    pub fn work(&self) -> (u64, u32) {
        (self.frames, self.fps)
    }

    /// The chunk at `index`; bad input when the plan has no such chunk.
    pub fn span(&self, index: u32) -> Result<ChunkSpan, VidflowError> {
        self.chunks.get(index as usize).copied().ok_or_else(|| {
            VidflowError::bad_input(format!(
                "chunk {index} does not exist: the plan has {} chunks",
                self.chunks.len()
            ))
        })
    }

    /// Checks that the chunks tile `[0, frames)` in order (a plan may come from elsewhere,
    /// deserialised) and, given what the work is (`frames` at `fps`), that the plan was
    /// made for it.
    pub fn check(&self, work: Option<(u64, u32)>) -> Result<(), VidflowError> {
        let mut next = 0;
        for (i, c) in self.chunks.iter().enumerate() {
            if c.index as usize != i || c.start != next || c.end <= c.start {
                return Err(VidflowError::bad_input(format!(
                    "chunk plan is inconsistent at chunk {i} ({}..{}): chunks must tile the frames in order",
                    c.start, c.end
                )));
            }
            next = c.end;
        }
        if next != self.frames || self.chunks.is_empty() {
            return Err(VidflowError::bad_input(format!(
                "chunk plan covers {next} of its {} frames",
                self.frames
            )));
        }
        if let Some((frames, fps)) = work
            && (frames, fps) != (self.frames, self.fps)
        {
            return Err(VidflowError::bad_input(format!(
                "chunk plan is for {} frames at {} fps, but this request's video has {frames} at {fps} fps",
                self.frames, self.fps
            )));
        }
        Ok(())
    }
}

/// What [`Engine::render_chunk`] or [`Engine::assemble`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkReport {
    /// The content key the result is stored under.
    pub key: String,
    /// Already in the cache: nothing was rendered or joined.
    pub cached: bool,
    /// Size of the stored segment or video.
    pub bytes: u64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// The keys a chunked render stores its results under, worked out without running
/// anything: to see which chunks are done, or to skip those that are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkKeys {
    /// Each chunk's segment, in plan order.
    pub chunks: Vec<String>,
    /// The joined video.
    pub assembled: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens(plan: &ChunkPlan) -> Vec<u64> {
        plan.chunks.iter().map(ChunkSpan::len).collect()
    }

    #[test]
    fn chunks_tile_the_frames_with_a_shorter_last_one() {
        let plan = ChunkPlan::new(175, 24, 7.29, 2.0).unwrap();
        assert_eq!(plan.chunk_frames, 48);
        assert_eq!(lens(&plan), [48, 48, 48, 31]);
        plan.check(None).unwrap();
        assert_eq!(
            plan.span(3).unwrap(),
            ChunkSpan {
                index: 3,
                start: 144,
                end: 175
            }
        );
        assert!(plan.span(4).unwrap_err().message.contains("4 chunks"));
    }

    #[test]
    fn a_tail_too_short_for_a_segment_joins_the_last_chunk() {
        // 98 = 2 x 48 + 2: a two-frame segment would not join, so the last chunk has 50.
        assert_eq!(lens(&ChunkPlan::new(98, 24, 4.08, 2.0).unwrap()), [48, 50]);
        assert_eq!(
            lens(&ChunkPlan::new(99, 24, 4.1, 2.0).unwrap()),
            [48, 48, 3]
        );
        // Tiny chunk lengths are raised to the shortest segment; a short video is one chunk.
        assert_eq!(lens(&ChunkPlan::new(7, 24, 0.3, 0.01).unwrap()), [3, 4]);
        assert_eq!(lens(&ChunkPlan::new(2, 24, 0.05, 10.0).unwrap()), [2]);
        assert_eq!(lens(&ChunkPlan::new(50, 24, 2.0, 1e300).unwrap()), [50]);
    }

    #[test]
    fn bad_chunk_lengths_and_bad_plans_are_refused() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = ChunkPlan::new(100, 24, 4.0, bad).unwrap_err();
            assert_eq!(err.kind, crate::ErrorKind::BadInput, "{bad}");
        }
        let mut plan = ChunkPlan::new(100, 24, 4.0, 1.0).unwrap();
        plan.chunks[1].start += 1;
        assert!(plan.check(None).is_err());
        let mut plan = ChunkPlan::new(100, 24, 4.0, 1.0).unwrap();
        plan.chunks.pop();
        assert!(plan.check(None).unwrap_err().message.contains("covers"));
    }
}
