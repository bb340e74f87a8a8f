//! Finding and running the ffmpeg command-line tools.

use std::process::{Command, Output};

use crate::EncodeError;

/// The encoder program, looked up on PATH.
pub(crate) const FFMPEG: &str = "ffmpeg";
/// The prober program, looked up on PATH.
pub(crate) const FFPROBE: &str = "ffprobe";

/// The first line of `ffmpeg -version`, e.g. `ffmpeg version 5.1.6-0+deb12u1 Copyright …`.
///
/// Fails with [`EncodeError::ToolMissing`] naming ffmpeg when it is not installed, so callers
/// can check up front instead of failing after rendering every frame.
///
/// ```
/// let version = vidflow_encode::ffmpeg_version().unwrap();
/// assert!(version.starts_with("ffmpeg version"));
/// ```
pub fn ffmpeg_version() -> Result<String, EncodeError> {
    tool_version(FFMPEG)
}

/// The first line of `PROGRAM -version`.
pub(crate) fn tool_version(program: &str) -> Result<String, EncodeError> {
    let out = run_tool(Command::new(program).arg("-version"), program)?;
    if !out.status.success() {
        return Err(EncodeError::io(
            format!("running `{program} -version`"),
            std::io::Error::other(format!(
                "{}: {}",
                out.status,
                last_lines(&String::from_utf8_lossy(&out.stderr), 5)
            )),
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().next().unwrap_or_default().trim().to_string())
}

/// Runs a command to completion, mapping "could not start" to [`EncodeError::ToolMissing`].
pub(crate) fn run_tool(cmd: &mut Command, program: &str) -> Result<Output, EncodeError> {
    cmd.output().map_err(|source| EncodeError::ToolMissing {
        tool: program.to_string(),
        source,
    })
}

/// The last `n` non-empty lines of a tool's stderr, joined with `; ` for a one-line message.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let start = lines.len().saturating_sub(n);
    let tail = lines[start..].join("; ");
    if tail.is_empty() {
        "(no message on stderr)".to_string()
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tool_names_the_program() {
        let err = tool_version("vidflow-no-such-ffmpeg").unwrap_err();
        assert!(matches!(err, EncodeError::ToolMissing { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("vidflow-no-such-ffmpeg"), "{msg}");
        assert!(msg.contains("install"), "{msg}");
    }

    #[test]
    fn installed_ffmpeg_reports_its_version() {
        assert!(ffmpeg_version().unwrap().starts_with("ffmpeg version"));
    }

    #[test]
    fn last_lines_keeps_the_tail() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), "b; c");
        assert_eq!(last_lines("", 3), "(no message on stderr)");
    }
}
