//! Fuzz targets for vidflow's parsers and decoders, and the loop that runs them on stable
//! Rust.
//!
//! Each [`Target`] takes arbitrary bytes and feeds them to one of the places where vidflow
//! reads what strangers (or a damaged disk) give it: the HTML extractor, the config file and
//! `VIDFLOW_*` variables, the API's JSON bodies, the `--script` text, sprite packs and the
//! cache's stored entries. A target passes an input when it returns without panicking;
//! targets also assert what must hold of a success (a decoded cache entry is exactly what
//! was stored, an accepted request survives a round trip).
//!
//! A [`Campaign`] runs a target over its committed corpus (`corpus/<target>/`) and then over
//! mutations of it drawn from a seeded RNG, so a run is repeatable from its seed. Each input
//! is written to `target/fuzz-current/<target>` before it runs, so a crash no handler can
//! catch (a stack overflow, the [`memory::Ceiling`]) leaves it behind; a panic is caught and
//! the input saved under `target/fuzz-crashes/<target>/`; an input that runs past the time
//! limit is saved and ends the process.
//!
//! ```
//! use vidflow_fuzz::{Budget, Campaign, target};
//!
//! let script = target("script").unwrap();
//! let outcome = Campaign::new(script, 1, Budget::Inputs(50)).run(script).unwrap();
//! assert_eq!(outcome.inputs, 50);
//! assert!(outcome.crashes.is_empty());
//! ```
//!
//! Why a hand-written loop and not `cargo afl` or `cargo fuzz`: both need instrumented
//! builds (cargo-fuzz needs nightly's sanitizer flags, cargo-afl afl++ and its compiler
//! wrapper), and the point is a run anyone can repeat with the stable toolchain, in the
//! test suite too. Without coverage feedback the loop relies on a corpus of real inputs
//! and on mutations aimed at what breaks parsers (nesting, huge numbers, non-ASCII).

pub mod campaign;
pub mod memory;
pub mod mutate;
pub mod targets;

pub use campaign::{Budget, Campaign, CampaignError, Crash, Outcome, run_one};

/// The process's allocator: the system's, under a ceiling (see [`memory`]).
#[global_allocator]
pub static HEAP: memory::Ceiling = memory::Ceiling::new();

/// One fuzz target.
pub struct Target {
    /// Its name, also its corpus folder's.
    pub name: &'static str,
    /// What it feeds its input to.
    pub about: &'static str,
    /// Runs one input; a panic is a crash.
    pub run: fn(&[u8]),
    /// Fragments of the input's syntax, inserted by mutation.
    pub tokens: &'static [&'static [u8]],
    /// Openers that nest when repeated (`<div>`, `[`), inserted thousands deep.
    pub nest: &'static [&'static [u8]],
    /// Longest input the mutator makes.
    pub max_len: usize,
    /// Inputs the test suite's bounded run tries: a few seconds' worth.
    pub test_inputs: u64,
}

/// Every target.
pub fn all_targets() -> &'static [Target] {
    targets::ALL
}

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    targets::ALL.iter().find(|t| t.name == name)
}
