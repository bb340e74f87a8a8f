//! Writing files so that a reader never sees half of one.
//!
//! Everything is first written to a hidden temporary file in the target's own folder
//! (`.NAME.partial-XXXXXX`), flushed to disk, and then renamed over the target. A rename within
//! one folder is atomic, so the target is either the old file or the complete new one; when
//! anything fails the temporary file is removed.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, TempPath};

use crate::EncodeError;

/// Writes `bytes` to `path` atomically: temp file in the same folder, fsync, rename, fsync of
/// the folder.
///
/// Fails with [`EncodeError::OutputFolderMissing`] when the folder does not exist.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("notes.srt");
/// vidflow_encode::write_atomic(&path, b"hello").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EncodeError> {
    let mut temp = partial_file(path, false)?;
    let temp_path = temp.path().to_path_buf();
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| EncodeError::io(format!("writing {}", temp_path.display()), e))?;
    // Closing the handle before the rename; `into_temp_path` keeps the delete-on-drop guard.
    persist(temp.into_temp_path(), path)
}

/// Moves the finished file `from` to `to` atomically: a rename when both are on one file
/// system, else a copy into a hidden temporary sibling of `to` that is renamed over it.
/// `from` is gone afterwards either way.
pub fn move_into_place(from: &Path, to: &Path) -> Result<(), EncodeError> {
    check_output(to)?;
    if std::fs::rename(from, to).is_ok() {
        sync_folder(&folder_of(to));
        return Ok(());
    }
    let mut temp = partial_file(to, false)?;
    let temp_path = temp.path().to_path_buf();
    let mut source =
        File::open(from).map_err(|e| EncodeError::io(format!("opening {}", from.display()), e))?;
    std::io::copy(&mut source, temp.as_file_mut())
        .and_then(|_| temp.as_file().sync_all())
        .map_err(|e| EncodeError::io(format!("writing {}", temp_path.display()), e))?;
    persist(temp.into_temp_path(), to)?;
    let _ = std::fs::remove_file(from);
    Ok(())
}

/// The folder `path` lives in; `.` for a bare file name.
pub(crate) fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Checks that `path` can be created: its folder exists and it is not itself a folder.
pub(crate) fn check_output(path: &Path) -> Result<PathBuf, EncodeError> {
    let folder = folder_of(path);
    if !folder.is_dir() {
        return Err(EncodeError::OutputFolderMissing {
            path: path.to_path_buf(),
            folder,
        });
    }
    if path.is_dir() {
        return Err(EncodeError::OutputIsFolder {
            path: path.to_path_buf(),
        });
    }
    Ok(folder)
}

/// Creates the hidden temporary sibling of `path`: `.NAME.partial-RANDOM`, or with
/// `keep_extension` `.STEM.partial-RANDOM.EXT`, so that tools which pick a format by the file's
/// extension (ffmpeg) treat the temporary file as they would the target.
///
/// It is deleted when dropped unless persisted.
pub(crate) fn partial_file(
    path: &Path,
    keep_extension: bool,
) -> Result<NamedTempFile, EncodeError> {
    let folder = check_output(path)?;
    let lossy = |s: &std::ffi::OsStr| s.to_string_lossy().into_owned();
    let (name, suffix) = match (keep_extension, path.extension()) {
        (true, Some(ext)) => (
            path.file_stem().map(lossy).unwrap_or_default(),
            format!(".{}", lossy(ext)),
        ),
        _ => (
            path.file_name().map(lossy).unwrap_or_default(),
            String::new(),
        ),
    };
    // Outputs are the user's files: ordinary permissions (subject to umask), not the
    // owner-only mode temporary files get by default.
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(0o644)
    };
    let mut builder = tempfile::Builder::new();
    let prefix = format!(".{name}.partial-");
    builder.prefix(&prefix).suffix(&suffix);
    #[cfg(unix)]
    builder.permissions(mode);
    builder.tempfile_in(&folder).map_err(|e| {
        EncodeError::io(
            format!("creating a temporary file in {}", folder.display()),
            e,
        )
    })
}

/// Renames a finished temporary file over `path` and makes the rename durable.
pub(crate) fn persist(temp: TempPath, path: &Path) -> Result<(), EncodeError> {
    let from = temp.to_path_buf();
    temp.persist(path).map_err(|e| {
        // `e` still owns the temporary path; dropping it removes the file.
        EncodeError::io(
            format!("renaming {} to {}", from.display(), path.display()),
            e.error,
        )
    })?;
    sync_folder(&folder_of(path));
    Ok(())
}

/// Flushes a folder's entries so a completed rename survives a crash.
///
/// Best effort: some file systems refuse to open or sync folders, and the data itself is
/// already on disk by then, so a failure here is not worth failing the whole write for.
fn sync_folder(folder: &Path) {
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_existing_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, b"old contents").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), vec!["a.txt".to_string()]);
    }

    #[test]
    fn missing_folder_is_bad_input_naming_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope").join("a.txt");
        let err = write_atomic(&path, b"x").unwrap_err();
        assert_eq!(err.kind(), vidflow_core::ErrorKind::BadInput);
        let msg = err.to_string();
        assert!(msg.contains("does not exist"), "{msg}");
        assert!(msg.contains("nope"), "{msg}");
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn folder_as_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(dir.path(), b"x").unwrap_err();
        assert!(matches!(err, EncodeError::OutputIsFolder { .. }), "{err}");
    }

    #[test]
    fn temp_name_is_hidden_sibling() {
        let dir = tempfile::tempdir().unwrap();
        let temp = partial_file(&dir.path().join("out.mp4"), true).unwrap();
        let name = temp
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with(".out.partial-"), "{name}");
        assert!(name.ends_with(".mp4"), "{name}");
        let other = partial_file(&dir.path().join("out.srt"), false).unwrap();
        let name = other
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with(".out.srt.partial-"), "{name}");
        assert_eq!(temp.path().parent().unwrap(), dir.path());
        drop((temp, other));
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn a_finished_file_moves_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("made.mp4");
        std::fs::write(&from, b"video").unwrap();
        let to = dir.path().join("out.mp4");
        std::fs::write(&to, b"old").unwrap();
        move_into_place(&from, &to).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"video");
        assert_eq!(entries(dir.path()), vec!["out.mp4".to_string()]);
        let err = move_into_place(&to, &dir.path().join("nope/out.mp4")).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn bare_file_name_lives_in_current_folder() {
        assert_eq!(folder_of(Path::new("out.mp4")), PathBuf::from("."));
        assert_eq!(folder_of(Path::new("/x/out.mp4")), PathBuf::from("/x"));
    }
}
