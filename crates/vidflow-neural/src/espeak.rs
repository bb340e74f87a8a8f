//! Phonemes from the `espeak-ng` program.
//!
//! espeak-ng is GPL-3.0: linking its library would bind vidflow's binary to the GPL, so it runs
//! as a separate process (`espeak-ng -q --ipa -v <voice>`), text on stdin, IPA on stdout.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::NeuralError;

/// Runs `espeak-ng` to turn text into IPA phonemes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phonemiser {
    program: PathBuf,
    voice: String,
}

impl Phonemiser {
    /// A phonemiser for espeak-ng's `voice` (e.g. `en-us`), running `espeak-ng` from `PATH`.
    pub fn new(voice: &str) -> Phonemiser {
        Phonemiser::with_program("espeak-ng", voice)
    }

    /// A phonemiser running `program` instead of `espeak-ng` from `PATH`.
    pub fn with_program(program: impl Into<PathBuf>, voice: &str) -> Phonemiser {
        Phonemiser {
            program: program.into(),
            voice: voice.to_string(),
        }
    }

    /// The espeak-ng voice (language) it phonemises for.
    pub fn voice(&self) -> &str {
        &self.voice
    }

    /// The IPA of `text`, one string per clause espeak-ng found in it (it drops punctuation
    /// and starts a new line at each clause), with words separated by single spaces.
    pub fn phonemise(&self, text: &str) -> Result<Vec<String>, NeuralError> {
        let program = self.program.display().to_string();
        let mut child = Command::new(&self.program)
            .args(["-q", "--ipa", "-v", &self.voice])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| NeuralError::PhonemiserMissing {
                program: program.clone(),
                reason: e.to_string(),
            })?;
        let failed = |reason: String| NeuralError::PhonemiserFailed {
            program: program.clone(),
            text: text.to_string(),
            reason,
        };
        {
            // Dropped at the end of this block, closing stdin, which tells espeak-ng the text
            // is complete. The text is small (a clause), so writing all of it before reading
            // cannot fill the output pipe and deadlock.
            let mut stdin = child.stdin.take().expect("stdin was piped");
            let written = stdin
                .write_all(text.as_bytes())
                .and_then(|()| stdin.write_all(b"\n"));
            match written {
                // It stopped reading: its exit status and output say what went wrong.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(failed(format!("writing the text to it: {e}"))),
                Ok(()) => {}
            }
        }
        let output = child
            .wait_with_output()
            .map_err(|e| failed(format!("waiting for it: {e}")))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(failed(format!("{}: {}", output.status, stderr.trim())));
        }
        // espeak-ng reports an unknown voice on stderr yet exits 0 and prints nothing.
        if output.stdout.iter().all(u8::is_ascii_whitespace) && !stderr.trim().is_empty() {
            return Err(failed(stderr.trim().to_string()));
        }
        let stdout = String::from_utf8(output.stdout)
            .map_err(|_| failed("its output is not UTF-8".to_string()))?;
        Ok(stdout
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|line| !line.is_empty())
            .collect())
    }
}
