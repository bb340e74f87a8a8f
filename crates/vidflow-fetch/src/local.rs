//! Local files: plain paths (relative or absolute) and `file://` URLs.

use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};

use tokio::io::AsyncReadExt as _;
use vidflow_core::VidflowError;

use crate::media::human_bytes;

/// A local file read whole, with the `file://` URL of its absolute path.
pub(crate) struct LocalFile {
    /// `file://` URL of the canonical absolute path.
    pub(crate) url: String,
    /// The file's bytes.
    pub(crate) bytes: Vec<u8>,
}

/// How a path is shown in messages: as given, plus the absolute path when it was relative.
pub(crate) fn describe(path: &Path) -> String {
    if path.is_absolute() {
        path.display().to_string()
    } else {
        match std::path::absolute(path) {
            Ok(abs) => format!("{} ({})", path.display(), abs.display()),
            Err(_) => path.display().to_string(),
        }
    }
}

/// Reads a regular file of at most `limit` bytes.
pub(crate) async fn read_file(path: &Path, limit: u64) -> Result<LocalFile, VidflowError> {
    let shown = describe(path);
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| io_error(&shown, &e))?;
    if meta.is_dir() {
        return Err(VidflowError::bad_input(format!(
            "{shown} is a directory, not a file"
        )));
    }
    if !meta.is_file() {
        // Devices and pipes could block or never end; a page is a regular file.
        return Err(VidflowError::bad_input(format!(
            "{shown} is not a regular file"
        )));
    }
    if meta.len() > limit {
        return Err(VidflowError::bad_input(format!(
            "file {shown} is {}, over the {} limit",
            human_bytes(meta.len()),
            human_bytes(limit)
        )));
    }
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| io_error(&shown, &e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // Read one byte past the limit, in case the file grew since we looked.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| io_error(&shown, &e))?;
    if bytes.len() as u64 > limit {
        return Err(VidflowError::bad_input(format!(
            "file {shown} is larger than the {} limit",
            human_bytes(limit)
        )));
    }
    let canonical = tokio::fs::canonicalize(path)
        .await
        .map_err(|e| io_error(&shown, &e))?;
    let url = file_url(&canonical)?;
    Ok(LocalFile { url, bytes })
}

/// The `file://` URL of an absolute path.
pub(crate) fn file_url(absolute: &Path) -> Result<String, VidflowError> {
    url::Url::from_file_path(absolute)
        .map(String::from)
        .map_err(|()| {
            VidflowError::internal(format!(
                "cannot express {} as a file:// URL",
                absolute.display()
            ))
        })
}

/// The local path a `file://` URL names.
pub(crate) fn path_of_file_url(url: &url::Url) -> Result<PathBuf, VidflowError> {
    url.to_file_path().map_err(|()| {
        VidflowError::bad_input(format!(
            "{url} does not name a local file (a file:// URL must be file:///absolute/path, \
             without a remote host)"
        ))
    })
}

fn io_error(shown: &str, e: &std::io::Error) -> VidflowError {
    match e.kind() {
        IoKind::NotFound => VidflowError::bad_input(format!("file {shown} does not exist")),
        IoKind::PermissionDenied => {
            VidflowError::bad_input(format!("cannot read file {shown}: permission denied"))
        }
        IoKind::IsADirectory => {
            VidflowError::bad_input(format!("{shown} is a directory, not a file"))
        }
        _ => VidflowError::bad_input(format!("cannot read file {shown}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_a_file_and_gives_its_file_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a b.html");
        std::fs::write(&path, b"<p>hi</p>").unwrap();
        let file = read_file(&path, 1024).await.unwrap();
        assert_eq!(file.bytes, b"<p>hi</p>");
        assert!(file.url.starts_with("file:///"), "{}", file.url);
        assert!(file.url.ends_with("/a%20b.html"), "{}", file.url);
        let back = path_of_file_url(&url::Url::parse(&file.url).unwrap()).unwrap();
        assert_eq!(back, std::fs::canonicalize(&path).unwrap());
    }

    #[tokio::test]
    async fn refuses_directories_missing_files_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_file(dir.path(), 1024).await.err().unwrap();
        assert!(
            e.message.ends_with("is a directory, not a file"),
            "{}",
            e.message
        );

        let missing = dir.path().join("missing.html");
        let e = read_file(&missing, 1024).await.err().unwrap();
        assert_eq!(e.kind, vidflow_core::ErrorKind::BadInput);
        assert!(
            e.message.contains("missing.html does not exist"),
            "{}",
            e.message
        );

        let big = dir.path().join("big.txt");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        let e = read_file(&big, 1024).await.err().unwrap();
        assert!(
            e.message.contains("is 2 KiB, over the 1 KiB limit"),
            "{}",
            e.message
        );
    }

    #[test]
    fn remote_file_urls_are_refused() {
        let url = url::Url::parse("file://fileserver/share/page.html").unwrap();
        let e = path_of_file_url(&url).unwrap_err();
        assert!(
            e.message.contains("does not name a local file"),
            "{}",
            e.message
        );
    }
}
