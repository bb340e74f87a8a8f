//! Links Flite's C libraries (Debian package `flite1-dev`).
//!
//! No bindings are generated (the FFI in `src/ffi.rs` is written by hand against the headers in
//! `/usr/include/flite`), so this script only has to find the libraries and tell rustc to link
//! them. It fails early with an actionable message when they are missing, rather than leaving
//! the user to decode a wall of undefined-symbol errors from the linker.

use std::env;
use std::path::{Path, PathBuf};

/// Libraries to link, most dependent first: the voices need the English front end and lexicon,
/// which need the core engine, which needs libm.
const LIBRARIES: &[&str] = &[
    "flite_cmu_us_slt",
    "flite_cmu_us_awb",
    "flite_cmu_us_rms",
    "flite_cmu_us_kal",
    "flite_cmu_us_kal16",
    "flite_usenglish",
    "flite_cmulex",
    "flite",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FLITE_LIB_DIR");

    let explicit = env::var_os("FLITE_LIB_DIR").map(PathBuf::from);
    let dirs = search_dirs(explicit.as_deref());
    let missing: Vec<&str> = LIBRARIES
        .iter()
        .copied()
        .filter(|lib| !dirs.iter().any(|dir| has_library(dir, lib)))
        .collect();
    if !missing.is_empty() {
        let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        panic!(
            "vidflow-speech needs Flite's C libraries, but lib{} {} not found in {}. \
             Install them with `sudo apt-get install flite1-dev` (Debian/Ubuntu), \
             or point FLITE_LIB_DIR at the folder that holds libflite*.so",
            missing.join(", lib"),
            if missing.len() == 1 { "was" } else { "were" },
            searched.join(", ")
        );
    }

    // Only an explicit folder is added to the search path: the system folders are already on
    // the linker's default path, and adding them would let system libraries shadow the static
    // libraries other crates bundle under the same names.
    if let Some(dir) = explicit {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    for lib in LIBRARIES {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }
    println!("cargo:rustc-link-lib=dylib=m");
}

/// Where to look: the explicit folder if given, else the usual system library folders,
/// including the Debian multiarch one for the target.
fn search_dirs(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(dir) = explicit {
        return vec![dir.to_path_buf()];
    }
    let mut dirs = Vec::new();
    if let Some(multiarch) = multiarch_triple() {
        dirs.push(PathBuf::from(format!("/usr/lib/{multiarch}")));
        dirs.push(PathBuf::from(format!("/lib/{multiarch}")));
    }
    for dir in ["/usr/lib", "/usr/local/lib", "/usr/lib64", "/lib"] {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}

/// Debian's multiarch folder name for the target (`x86_64-unknown-linux-gnu` →
/// `x86_64-linux-gnu`).
fn multiarch_triple() -> Option<String> {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").ok()?;
    let os = env::var("CARGO_CFG_TARGET_OS").ok()?;
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let arch = match arch.as_str() {
        "x86" => "i386",
        "arm" => "arm",
        other => other,
    };
    let abi = match (arch, target_env.as_str()) {
        ("arm", "gnu") => "gnueabihf".to_string(),
        (_, "") => String::new(),
        (_, e) => e.to_string(),
    };
    Some(if abi.is_empty() {
        format!("{arch}-{os}")
    } else {
        format!("{arch}-{os}-{abi}")
    })
}

fn has_library(dir: &Path, lib: &str) -> bool {
    ["so", "a", "dylib"]
        .iter()
        .any(|ext| dir.join(format!("lib{lib}.{ext}")).is_file())
}
