//! Streaming raw frames into an ffmpeg child process.

use std::ffi::OsString;
use std::io::{IoSlice, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tempfile::TempPath;

use crate::atomic::{partial_file, persist};
use crate::tool::{FFMPEG, last_lines};
use crate::{EncodeError, EncodeSettings};

/// Frames queued between the caller and the writer thread. A few frames let rendering and
/// encoding overlap without letting memory grow: at 1080p each frame is 3 MiB.
const FRAMES_IN_FLIGHT: usize = 4;

/// Bytes of ffmpeg's stderr kept for error messages (its last lines are what matter).
const STDERR_TAIL_BYTES: usize = 16 * 1024;

/// Lines of ffmpeg's stderr quoted in an error.
const STDERR_TAIL_LINES: usize = 8;

/// How long ffmpeg may take to exit on its own after it stopped reading frames, before it
/// is killed.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// A finished video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedVideo {
    /// Where it was written (the path given to [`VideoEncoder::start`]).
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Frames fed to the encoder.
    pub frames: u64,
}

/// An ffmpeg child fed raw yuv420p frames on stdin from its own writer thread (bounded
/// channel, a few frames in flight), audio from a WAV file; writes to a temporary file in the
/// target's folder and renames it into place only on success.
///
/// If any call fails, or the encoder is [aborted](VideoEncoder::abort) or dropped without
/// [`finish`](VideoEncoder::finish), ffmpeg is killed and the temporary file removed: the
/// target is never left half written.
///
/// ```
/// use vidflow_encode::{EncodeSettings, VideoEncoder};
/// let dir = tempfile::tempdir().unwrap();
/// let out = dir.path().join("grey.mp4");
/// let settings = EncodeSettings { width: 64, height: 64, fps: 10, ..EncodeSettings::default() };
/// let mut encoder = VideoEncoder::start(&out, None, &settings).unwrap();
/// for _ in 0..10 {
///     encoder.write_frame(vec![128; settings.frame_len()]).unwrap();
/// }
/// let video = encoder.finish().unwrap();
/// assert_eq!(video.frames, 10);
/// assert!(video.bytes > 0 && out.exists());
/// ```
pub struct VideoEncoder {
    output: PathBuf,
    width: u32,
    height: u32,
    frame_len: usize,
    frames: u64,
    /// `None` once finished, aborted or failed.
    run: Option<Running>,
}

/// The live parts of an encode: the child, the threads feeding and draining it, and the
/// temporary output (removed when dropped).
struct Running {
    child: Child,
    frames_tx: Option<SyncSender<FrameBytes>>,
    writer: Option<JoinHandle<std::io::Result<()>>>,
    stderr: Option<JoinHandle<String>>,
    temp: TempPath,
}

impl VideoEncoder {
    /// Starts ffmpeg writing to a hidden temporary file beside `output`.
    ///
    /// `audio_wav`, when given, is muxed as AAC. The caller makes the video as long as the
    /// audio (`ceil(duration * fps)` frames); the encoder does not cut either stream.
    /// The container follows `output`'s extension (MP4 when it has none).
    ///
    /// Fails when the settings are invalid, `output`'s folder does not exist, the audio file
    /// is missing, or ffmpeg cannot be started.
    pub fn start(
        output: &Path,
        audio_wav: Option<&Path>,
        settings: &EncodeSettings,
    ) -> Result<VideoEncoder, EncodeError> {
        Self::start_as(output, audio_wav, settings, output.extension().is_none())
    }

    /// [`VideoEncoder::start`], with the container forced to MP4 whatever `output`'s
    /// extension when `force_mp4` is set.
    pub(crate) fn start_as(
        output: &Path,
        audio_wav: Option<&Path>,
        settings: &EncodeSettings,
        force_mp4: bool,
    ) -> Result<VideoEncoder, EncodeError> {
        settings.validate()?;
        if let Some(audio) = audio_wav.filter(|a| !a.is_file()) {
            return Err(EncodeError::InputMissing {
                what: "audio file",
                path: audio.to_path_buf(),
            });
        }
        let temp = partial_file(output, true)?.into_temp_path();
        let args = ffmpeg_args(&temp, force_mp4, audio_wav, settings);
        tracing::debug!(output = %output.display(), ?args, "starting ffmpeg");

        let mut child = Command::new(FFMPEG)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| EncodeError::ToolMissing {
                tool: FFMPEG.to_string(),
                source,
            })?;

        let stdin = child.stdin.take().expect("stdin is piped");
        widen_pipe(&stdin);
        let stderr = child.stderr.take().expect("stderr is piped");
        let (frames_tx, frames_rx) = sync_channel::<FrameBytes>(FRAMES_IN_FLIGHT);
        let spawned = std::thread::Builder::new()
            .name("ffmpeg-stdin".into())
            .spawn(move || feed(stdin, frames_rx))
            .and_then(|writer| {
                std::thread::Builder::new()
                    .name("ffmpeg-stderr".into())
                    .spawn(move || stderr_tail(stderr))
                    .map(|reader| (writer, reader))
            });
        let (writer, reader) = match spawned {
            Ok(threads) => threads,
            Err(e) => {
                // Without the threads nothing would ever close ffmpeg's stdin: stop it now.
                let _ = child.kill();
                let _ = child.wait();
                return Err(EncodeError::io("starting the ffmpeg feeder threads", e));
            }
        };

        Ok(VideoEncoder {
            output: output.to_path_buf(),
            width: settings.width,
            height: settings.height,
            frame_len: settings.frame_len(),
            frames: 0,
            run: Some(Running {
                child,
                frames_tx: Some(frames_tx),
                writer: Some(writer),
                stderr: Some(reader),
                temp,
            }),
        })
    }

    /// Queues one yuv420p frame (Y plane, then U, then V; `width * height * 3 / 2` bytes).
    ///
    /// Blocks while the queue is full, so a renderer faster than the encoder waits for it
    /// instead of piling frames up in memory. Any failure (wrong size, ffmpeg gone) stops the
    /// encode and removes the temporary file; the error carries ffmpeg's own message.
    pub fn write_frame(&mut self, yuv420p: impl Into<FrameBytes>) -> Result<(), EncodeError> {
        let yuv420p = yuv420p.into();
        let Some(run) = self.run.as_mut() else {
            return Err(EncodeError::AlreadyFailed {
                output: self.output.clone(),
            });
        };
        let len = yuv420p.checked_len();
        if len != Some(self.frame_len) {
            let err = EncodeError::FrameSize {
                index: self.frames,
                got: len.unwrap_or(0),
                expected: self.frame_len,
                width: self.width,
                height: self.height,
            };
            if let Some(run) = self.run.take() {
                run.kill();
            }
            return Err(err);
        }
        let tx = run.frames_tx.as_ref().expect("sender lives until finish");
        if tx.send(yuv420p).is_err() {
            // The writer thread stopped: ffmpeg closed its stdin, which it only does when it
            // gives up. Its exit status and stderr say why.
            let run = self.run.take().expect("checked above");
            return Err(run.failure(&self.output));
        }
        self.frames += 1;
        Ok(())
    }

    /// Frames accepted so far.
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Closes ffmpeg's stdin, waits for it, checks its exit status, flushes the file to disk
    /// and renames it over the target.
    pub fn finish(mut self) -> Result<EncodedVideo, EncodeError> {
        let Some(mut run) = self.run.take() else {
            return Err(EncodeError::AlreadyFailed {
                output: self.output.clone(),
            });
        };
        if self.frames == 0 {
            run.kill();
            return Err(EncodeError::Ffmpeg {
                output: self.output.clone(),
                status: "not run".into(),
                stderr: "no frames were written to the encoder".into(),
            });
        }
        // Dropping the sender ends the writer's loop once the queue is drained; it then
        // closes stdin, which tells ffmpeg the input is complete.
        drop(run.frames_tx.take());
        let written = run.writer.take().map(join_writer);
        let status = run.child.wait();
        let stderr = run.stderr.take().map(join_stderr).unwrap_or_default();
        let status = status.map_err(|e| {
            EncodeError::io(format!("waiting for ffmpeg ({})", self.output.display()), e)
        })?;
        if !status.success() {
            return Err(EncodeError::Ffmpeg {
                output: self.output.clone(),
                status: describe(status),
                stderr,
            });
        }
        if let Some(Err(e)) = written {
            return Err(EncodeError::io("feeding frames to ffmpeg", e));
        }

        let temp_shown = run.temp.display().to_string();
        let file = std::fs::File::open(&run.temp)
            .map_err(|e| EncodeError::io(format!("opening {temp_shown}"), e))?;
        file.sync_all()
            .map_err(|e| EncodeError::io(format!("flushing {temp_shown} to disk"), e))?;
        let bytes = file
            .metadata()
            .map_err(|e| EncodeError::io(format!("reading the size of {temp_shown}"), e))?
            .len();
        drop(file);
        persist(run.temp, &self.output)?;
        tracing::debug!(output = %self.output.display(), bytes, frames = self.frames, "encoded");
        Ok(EncodedVideo {
            path: self.output.clone(),
            bytes,
            frames: self.frames,
        })
    }

    /// Kills ffmpeg and removes the temporary file; the target is left as it was.
    ///
    /// Dropping an unfinished encoder does the same.
    pub fn abort(mut self) {
        if let Some(run) = self.run.take() {
            run.kill();
        }
    }
}

impl Drop for VideoEncoder {
    fn drop(&mut self) {
        if let Some(run) = self.run.take() {
            tracing::debug!(output = %self.output.display(), "encoder dropped unfinished; killing ffmpeg");
            run.kill();
        }
    }
}

impl Running {
    /// Stops ffmpeg now and removes the temporary file.
    fn kill(mut self) {
        // Killing first unblocks a writer stuck in a full pipe (its write fails with EPIPE).
        let _ = self.child.kill();
        drop(self.frames_tx.take());
        if let Some(writer) = self.writer.take() {
            let _ = join_writer(writer);
        }
        let _ = self.child.wait();
        if let Some(reader) = self.stderr.take() {
            let _ = join_stderr(reader);
        }
        let shown = self.temp.display().to_string();
        if let Err(e) = self.temp.close() {
            tracing::warn!("could not remove {shown}: {e}");
        }
    }

    /// Collects why ffmpeg stopped reading: its exit status and stderr. Removes the
    /// temporary file.
    fn failure(mut self, output: &Path) -> EncodeError {
        drop(self.frames_tx.take());
        let written = self.writer.take().map(join_writer);
        let status = wait_or_kill(&mut self.child, EXIT_GRACE);
        let stderr = self.stderr.take().map(join_stderr).unwrap_or_default();
        let _ = std::fs::remove_file(&self.temp);
        match status {
            Ok(status) if status.success() => {
                // ffmpeg was happy but stopped reading: report the pipe error itself.
                let source = match written {
                    Some(Err(e)) => e,
                    _ => std::io::Error::other("ffmpeg stopped reading frames"),
                };
                EncodeError::io("feeding frames to ffmpeg", source)
            }
            Ok(status) => EncodeError::Ffmpeg {
                output: output.to_path_buf(),
                status: describe(status),
                stderr,
            },
            Err(e) => EncodeError::io("waiting for ffmpeg", e),
        }
    }
}

/// The ffmpeg command line (after the program name).
fn ffmpeg_args(
    temp: &Path,
    force_mp4: bool,
    audio_wav: Option<&Path>,
    s: &EncodeSettings,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = os_args(&QUIET);
    let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
    let size = format!("{}x{}", s.width, s.height);
    let fps = s.fps.to_string();
    push(&[
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", &size, "-r", &fps, "-i", "pipe:0",
    ]);
    if let Some(audio) = audio_wav {
        args.push("-i".into());
        args.push(audio.as_os_str().to_owned());
    }
    let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
    push(&["-map", "0:v:0"]);
    if audio_wav.is_some() {
        push(&["-map", "1:a:0"]);
    }
    let crf = s.crf.to_string();
    push(&[
        "-c:v", "libx264", "-preset", &s.preset, "-crf", &crf, "-pix_fmt", "yuv420p",
    ]);
    if let Some(threads) = s.threads {
        push(&["-threads", &threads.to_string()]);
    }
    args.extend(x264_args(s));
    if audio_wav.is_some() {
        args.extend(audio_args(s));
    }
    args.extend(container_args(force_mp4));
    args.push(temp.as_os_str().to_owned());
    args
}

/// The x264 settings beyond preset and CRF, as ffmpeg options (none for x264's defaults).
fn x264_args(s: &EncodeSettings) -> Vec<OsString> {
    let mut args = Vec::new();
    if let Some(tune) = &s.x264.tune {
        args.extend(["-tune".into(), tune.into()]);
    }
    if let Some(keyint) = s.x264.keyint {
        args.extend(["-g".into(), keyint.to_string().into()]);
    }
    if let Some(aq) = s.x264.aq_mode {
        args.extend(["-x264-params".into(), format!("aq-mode={aq}").into()]);
    }
    args
}

/// ffmpeg's options for a quiet, non-interactive run that overwrites its output.
pub(crate) const QUIET: [&str; 5] = ["-hide_banner", "-loglevel", "error", "-nostats", "-y"];

pub(crate) fn os_args(items: &[&str]) -> Vec<OsString> {
    items.iter().map(OsString::from).collect()
}

/// How the narration is encoded; shared with [`crate::join_segments`] so that a video joined
/// from segments carries exactly the audio a whole encode would.
pub(crate) fn audio_args(s: &EncodeSettings) -> Vec<OsString> {
    let bitrate = format!("{}k", s.audio_bitrate_kbps);
    os_args(&["-c:a", "aac", "-b:a", &bitrate])
}

/// The output container's options, shared with [`crate::join_segments`].
pub(crate) fn container_args(force_mp4: bool) -> Vec<OsString> {
    // The index (moov) goes before the media data so players can start before the download
    // ends.
    let mut args = os_args(&["-movflags", "+faststart"]);
    if force_mp4 {
        args.extend(os_args(&["-f", "mp4"]));
    }
    args
}

/// The writer thread: copies frames from the queue into ffmpeg's stdin until the queue
/// closes, then closes stdin (by dropping it) so ffmpeg sees the end of the input.
fn feed(
    mut stdin: ChildStdin,
    frames: std::sync::mpsc::Receiver<FrameBytes>,
) -> std::io::Result<()> {
    for frame in frames {
        match frame {
            FrameBytes::Owned(bytes) => stdin.write_all(&bytes)?,
            FrameBytes::Runs { base, own, runs } => {
                let (base, own) = ((*base).as_ref(), own.as_slice());
                let mut slices: Vec<IoSlice<'_>> = runs
                    .iter()
                    .map(|r| {
                        let src = if r.from_own { own } else { base };
                        IoSlice::new(&src[r.start..r.start + r.len])
                    })
                    .collect();
                write_all_vectored(&mut stdin, &mut slices)?;
            }
        }
    }
    stdin.flush()
}

/// `write_all` for vectored writes (std's own is unstable): the kernel takes at most
/// IOV_MAX slices and may take part of one, so loop until every byte is in.
fn write_all_vectored(out: &mut impl Write, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WriteZero,
                    "ffmpeg stopped reading frames",
                ));
            }
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A shared buffer a frame's bytes may come from (a slide's static layer).
pub type SharedBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// One yuv420p frame as handed to [`VideoEncoder::write_frame`].
///
/// Either the frame's own bytes, or runs of bytes taken in order from a shared base buffer
/// and the frame's own bytes: most explainer frames are their slide's static layer with a
/// few rectangles redrawn, and the runs let the writer thread send the unchanged bytes
/// straight from the shared layer with vectored writes instead of copying them per frame.
pub enum FrameBytes {
    /// A whole frame.
    Owned(Vec<u8>),
    /// The frame as runs over `base` and `own`.
    Runs {
        /// Shared bytes most runs read from.
        base: SharedBytes,
        /// This frame's own bytes.
        own: Vec<u8>,
        /// The frame's bytes, in order.
        runs: Vec<ByteRun>,
    },
}

/// `len` bytes at `start` of a frame's own bytes (`from_own`) or of its shared base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRun {
    /// Read from the frame's own bytes rather than the shared base.
    pub from_own: bool,
    /// Offset in that buffer.
    pub start: usize,
    /// Number of bytes.
    pub len: usize,
}

impl From<Vec<u8>> for FrameBytes {
    fn from(bytes: Vec<u8>) -> Self {
        FrameBytes::Owned(bytes)
    }
}

impl FrameBytes {
    /// The frame's length in bytes, or `None` when a run reaches past its buffer.
    pub fn checked_len(&self) -> Option<usize> {
        match self {
            FrameBytes::Owned(b) => Some(b.len()),
            FrameBytes::Runs { base, own, runs } => {
                let (base_len, own_len) = ((**base).as_ref().len(), own.len());
                runs.iter().try_fold(0usize, |total, r| {
                    let limit = if r.from_own { own_len } else { base_len };
                    (r.start.checked_add(r.len)? <= limit).then_some(total + r.len)
                })
            }
        }
    }
}

/// The stderr thread: reads everything ffmpeg prints (so it never blocks on a full pipe)
/// and keeps the tail.
fn stderr_tail(mut stderr: impl Read) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stderr.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * STDERR_TAIL_BYTES {
                    kept.drain(..kept.len() - STDERR_TAIL_BYTES);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    last_lines(&String::from_utf8_lossy(&kept), STDERR_TAIL_LINES)
}

fn join_writer(handle: JoinHandle<std::io::Result<()>>) -> std::io::Result<()> {
    handle
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the ffmpeg writer thread panicked")))
}

fn join_stderr(handle: JoinHandle<String>) -> String {
    handle
        .join()
        .unwrap_or_else(|_| "(the ffmpeg stderr reader panicked)".to_string())
}

/// Waits up to `grace` for the child to exit by itself, then kills it.
fn wait_or_kill(child: &mut Child, grace: Duration) -> std::io::Result<ExitStatus> {
    let deadline = Instant::now() + grace;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            return child.wait();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// "exit status 1" or "killed by signal 9".
pub(crate) fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    status.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    fn window(args: &[String], flag: &str) -> Option<String> {
        args.iter()
            .position(|a| a == flag)
            .map(|i| args[i + 1].clone())
    }

    #[test]
    fn args_describe_raw_input_and_x264_aac_output() {
        let settings = EncodeSettings {
            width: 640,
            height: 360,
            fps: 25,
            preset: "medium".into(),
            crf: 20,
            x264: vidflow_core::config::X264Tuning {
                tune: Some("animation".into()),
                keyint: Some(120),
                aq_mode: Some(2),
            },
            audio_bitrate_kbps: 96,
            threads: Some(3),
        };
        let args = strings(&ffmpeg_args(
            Path::new("/o/.x.partial-1.mp4"),
            false,
            Some(Path::new("/a/voice.wav")),
            &settings,
        ));
        assert_eq!(
            &args[..5],
            ["-hide_banner", "-loglevel", "error", "-nostats", "-y"]
        );
        assert_eq!(window(&args, "-s").unwrap(), "640x360");
        assert_eq!(window(&args, "-r").unwrap(), "25");
        assert_eq!(window(&args, "-f").unwrap(), "rawvideo");
        let inputs: Vec<_> = args
            .iter()
            .enumerate()
            .filter(|(_, a)| *a == "-i")
            .map(|(i, _)| args[i + 1].clone())
            .collect();
        assert_eq!(inputs, ["pipe:0", "/a/voice.wav"]);
        assert_eq!(window(&args, "-c:v").unwrap(), "libx264");
        assert_eq!(window(&args, "-preset").unwrap(), "medium");
        assert_eq!(window(&args, "-crf").unwrap(), "20");
        assert_eq!(window(&args, "-threads").unwrap(), "3");
        assert_eq!(window(&args, "-tune").unwrap(), "animation");
        assert_eq!(window(&args, "-g").unwrap(), "120");
        assert_eq!(window(&args, "-x264-params").unwrap(), "aq-mode=2");
        assert_eq!(window(&args, "-c:a").unwrap(), "aac");
        assert_eq!(window(&args, "-b:a").unwrap(), "96k");
        assert_eq!(window(&args, "-movflags").unwrap(), "+faststart");
        assert!(!args.iter().any(|a| a == "-shortest"));
        assert_eq!(args.last().unwrap(), "/o/.x.partial-1.mp4");
    }

    #[test]
    fn args_without_audio_or_extension() {
        let args = strings(&ffmpeg_args(
            Path::new("/o/.x.partial-1"),
            true,
            None,
            &EncodeSettings::default(),
        ));
        assert_eq!(args.iter().filter(|a| *a == "-i").count(), 1);
        assert!(!args.iter().any(|a| {
            a == "-c:a" || a == "1:a:0" || a == "-threads" || a == "-tune" || a == "-g"
        }));
        let n = args.len();
        assert_eq!(&args[n - 3..n - 1], ["-f", "mp4"]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_pipe_into_the_encoder_is_widened_where_allowed() {
        use std::os::fd::AsRawFd;
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("cat runs");
        let stdin = child.stdin.take().unwrap();
        // SAFETY: F_GETPIPE_SZ only reads the capacity of a pipe this test holds.
        let size = || unsafe { libc::fcntl(stdin.as_raw_fd(), libc::F_GETPIPE_SZ) };
        let before = size();
        widen_pipe(&stdin);
        let allowed: i32 = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if allowed >= PIPE_BYTES {
            assert!(size() >= PIPE_BYTES, "{before} -> {}", size());
        } else {
            // Over the limit only a privileged process may widen it; anyone else's pipe
            // keeps its size.
            assert!(
                size() == before || size() >= PIPE_BYTES,
                "{before} -> {}",
                size()
            );
        }
        drop(stdin);
        child.wait().unwrap();
    }

    #[test]
    fn stderr_tail_keeps_last_lines_of_long_output() {
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&format!("line {i}\n"));
        }
        let tail = stderr_tail(text.as_bytes());
        assert!(tail.ends_with("line 4999"), "{tail}");
        assert!(!tail.contains("line 10\n"));
        assert_eq!(tail.split("; ").count(), STDERR_TAIL_LINES);
    }
}

#[cfg(test)]
mod frame_bytes_tests {
    use super::*;

    /// Takes at most 7 bytes per call, from the first slice only, like a busy pipe.
    struct Trickle(Vec<u8>);

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(7);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn vectored_writes_deliver_every_byte_in_order_despite_short_writes() {
        let parts: Vec<Vec<u8>> = (0..50u8)
            .map(|i| vec![i; (i as usize * 3) % 11 + 1])
            .collect();
        let mut slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let mut out = Trickle(Vec::new());
        write_all_vectored(&mut out, &mut slices).unwrap();
        assert_eq!(out.0, parts.concat());
    }

    #[test]
    fn runs_are_checked_against_their_buffers() {
        let base: SharedBytes = Arc::new(vec![1u8; 10]);
        let ok = FrameBytes::Runs {
            base: base.clone(),
            own: vec![2; 4],
            runs: vec![
                ByteRun {
                    from_own: false,
                    start: 0,
                    len: 6,
                },
                ByteRun {
                    from_own: true,
                    start: 0,
                    len: 4,
                },
                ByteRun {
                    from_own: false,
                    start: 6,
                    len: 4,
                },
            ],
        };
        assert_eq!(ok.checked_len(), Some(14));
        let past_end = FrameBytes::Runs {
            base,
            own: vec![2; 4],
            runs: vec![ByteRun {
                from_own: true,
                start: 2,
                len: 4,
            }],
        };
        assert_eq!(past_end.checked_len(), None);
    }
}

/// Capacity asked for the pipe into ffmpeg.
const PIPE_BYTES: i32 = 1 << 20;

/// Widens the pipe into ffmpeg to [`PIPE_BYTES`] where the system allows (Linux's default
/// is 64 KiB): a 720p frame then crosses in two writes instead of twenty-two, each of
/// which woke ffmpeg's reader and put this side to sleep. Renders ran about a tenth
/// faster, and encode-only just as much (`vidflow bench render`).
fn widen_pipe(stdin: &ChildStdin) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: F_SETPIPE_SZ only changes the capacity of a pipe this process holds.
        let got = unsafe { libc::fcntl(stdin.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES) };
        if got < 0 {
            // Over /proc/sys/fs/pipe-max-size: the pipe keeps its size, which only costs
            // speed.
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "the pipe into ffmpeg keeps its default size"
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stdin;
}
