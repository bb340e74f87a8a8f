//! Content keys: a stage output's name, derived from everything that produced it.

use serde::{Deserialize, Serialize};

/// The key of a stage's output: blake3 of (stage name, stage version, parameters, input keys).
///
/// Keys chain through their inputs, so a change anywhere upstream changes every key below it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContentKey(String);

impl ContentKey {
    /// Starts a key for `stage` at `version` (bump the version when the stage's output changes).
    pub fn builder(stage: &str, version: u32) -> ContentKeyBuilder {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"vidflow-key-v1\0");
        write_field(&mut hasher, b"stage", stage.as_bytes());
        write_field(&mut hasher, b"version", &version.to_le_bytes());
        ContentKeyBuilder {
            stage: stage.to_owned(),
            hasher,
        }
    }

    /// Wraps an existing key string (as stored or printed).
    pub fn from_string(s: impl Into<String>) -> ContentKey {
        ContentKey(s.into())
    }

    /// The key as text: `stage-<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stage name part of the key.
    pub fn stage(&self) -> &str {
        self.0.rsplit_once('-').map(|(s, _)| s).unwrap_or(&self.0)
    }
}

impl std::fmt::Display for ContentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Collects a key's parameters and inputs.
pub struct ContentKeyBuilder {
    stage: String,
    hasher: blake3::Hasher,
}

fn write_field(h: &mut blake3::Hasher, name: &[u8], value: &[u8]) {
    // Length-prefix both parts so that ("ab","c") and ("a","bc") differ.
    h.update(&(name.len() as u64).to_le_bytes());
    h.update(name);
    h.update(&(value.len() as u64).to_le_bytes());
    h.update(value);
}

impl ContentKeyBuilder {
    /// Adds a named parameter.
    pub fn param(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        write_field(&mut self.hasher, name.as_bytes(), value.as_ref());
        self
    }

    /// Adds a parameter given as any serialisable value (hashed as JSON).
    pub fn param_json<T: Serialize>(self, name: &str, value: &T) -> Self {
        let json = serde_json::to_vec(value).unwrap_or_default();
        self.param(name, json)
    }

    /// Adds the key of an input.
    pub fn input(mut self, key: &ContentKey) -> Self {
        write_field(&mut self.hasher, b"input", key.0.as_bytes());
        self
    }

    /// Adds raw input bytes (a user-supplied file, say).
    pub fn bytes(mut self, name: &str, data: &[u8]) -> Self {
        let digest = blake3::hash(data);
        write_field(&mut self.hasher, name.as_bytes(), digest.as_bytes());
        self
    }

    /// Finishes the key.
    pub fn build(self) -> ContentKey {
        let hex = self.hasher.finalize().to_hex();
        ContentKey(format!("{}-{}", self.stage, &hex[..32]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_chain_through_inputs() {
        let a1 = ContentKey::builder("fetch", 1).param("url", "a").build();
        let a2 = ContentKey::builder("fetch", 1).param("url", "b").build();
        let b1 = ContentKey::builder("extract", 1).input(&a1).build();
        let b2 = ContentKey::builder("extract", 1).input(&a2).build();
        assert_ne!(b1, b2);
        assert_eq!(b1.stage(), "extract");
        assert_ne!(
            ContentKey::builder("fetch", 1).param("url", "a").build(),
            ContentKey::builder("fetch", 2).param("url", "a").build()
        );
        assert_ne!(
            ContentKey::builder("s", 1).param("ab", "c").build(),
            ContentKey::builder("s", 1).param("a", "bc").build()
        );
    }
}
