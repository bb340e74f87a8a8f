//! How stage outputs are turned into bytes for the cache: postcard, then zstd.

use serde::{Serialize, de::DeserializeOwned};

use crate::error::VidflowError;

/// Serialises and compresses a value.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, VidflowError> {
    let raw = postcard::to_stdvec(value)
        .map_err(|e| VidflowError::internal(format!("cannot serialise value: {e}")))?;
    zstd::encode_all(&raw[..], 3)
        .map_err(|e| VidflowError::internal(format!("cannot compress value: {e}")))
}

/// Decompresses and deserialises a value written by [`encode`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, VidflowError> {
    let raw = zstd::decode_all(bytes)
        .map_err(|e| VidflowError::internal(format!("cannot decompress value: {e}")))?;
    postcard::from_bytes(&raw)
        .map_err(|e| VidflowError::internal(format!("cannot deserialise value: {e}")))
}
