//! What can go wrong when choosing or loading a presenter.

use std::path::PathBuf;

/// Why an avatar could not be chosen or loaded.
///
/// Every message names the avatar, file or `avatar.toml` key at fault, because the person reading
/// it is the one who wrote the pack or typed the name.
#[derive(Debug, thiserror::Error)]
pub enum AvatarError {
    /// The name is not a built-in avatar (and, from [`crate::Avatar::load`], not a folder either).
    #[error(
        "unknown avatar \"{name}\": the built-in avatars are {known}; a sprite pack is given as a folder path"
    )]
    UnknownAvatar {
        /// What was asked for.
        name: String,
        /// The built-in names, comma separated.
        known: String,
    },

    /// The sprite-pack folder does not exist or is not a folder.
    #[error("sprite pack {}: not a folder", path.display())]
    NotAFolder {
        /// The path given.
        path: PathBuf,
    },

    /// The folder has no `avatar.toml`.
    #[error("sprite pack {}: no avatar.toml in the folder", dir.display())]
    MissingManifest {
        /// The pack folder.
        dir: PathBuf,
    },

    /// A key of `avatar.toml` names a file outside the pack folder (an absolute path, or one
    /// that climbs out with `..` or through a link): a pack may only use its own files.
    #[error(
        "sprite pack {}: avatar.toml key `{key}` names \"{file}\", which is outside the pack folder; name a file inside it, like \"base.png\"",
        dir.display()
    )]
    OutsidePack {
        /// The key (`base`, `eyes_open`, `mouths.A`, ...).
        key: String,
        /// The file name as written in `avatar.toml`.
        file: String,
        /// The pack folder.
        dir: PathBuf,
    },

    /// A file of the pack could not be read.
    #[error("sprite pack: cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// `avatar.toml` is not valid TOML or has a wrong or unknown key.
    #[error("sprite pack {}: invalid avatar.toml: {message}", path.display())]
    Manifest {
        /// Path of `avatar.toml`.
        path: PathBuf,
        /// The parser's explanation, with the line and key.
        message: String,
    },

    /// A key of `avatar.toml` names an image that does not exist.
    #[error("sprite pack: avatar.toml key `{key}` names {}, which does not exist", path.display())]
    MissingImage {
        /// The key (`base`, `eyes_open`, `mouths.A`, ...).
        key: String,
        /// The resolved path of the image.
        path: PathBuf,
    },

    /// An image of the pack could not be decoded.
    #[error("sprite pack: avatar.toml key `{key}`: {} is not a readable image: {reason}", path.display())]
    BadImage {
        /// The key that names the image.
        key: String,
        /// The image file.
        path: PathBuf,
        /// The decoder's explanation.
        reason: String,
    },

    /// An overlay's size differs from the base image's.
    #[error(
        "sprite pack: avatar.toml key `{key}`: {} is {got_w}x{got_h} but the base image is {want_w}x{want_h}; overlays must match the base",
        path.display()
    )]
    SizeMismatch {
        /// The key that names the overlay.
        key: String,
        /// The overlay file.
        path: PathBuf,
        /// Overlay width.
        got_w: u32,
        /// Overlay height.
        got_h: u32,
        /// Base width.
        want_w: u32,
        /// Base height.
        want_h: u32,
    },

    /// The `[mouths]` table is missing, has an unknown key, or is incomplete.
    #[error("sprite pack {}: avatar.toml [mouths]: {problem}", path.display())]
    Mouths {
        /// Path of `avatar.toml`.
        path: PathBuf,
        /// What is wrong with the table.
        problem: String,
    },
}

impl From<AvatarError> for vidflow_core::VidflowError {
    /// Every avatar error is the user's input (a name, a folder, a file they made).
    fn from(e: AvatarError) -> Self {
        vidflow_core::VidflowError::bad_input(e.to_string())
    }
}
