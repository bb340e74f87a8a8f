//! `vidflow`: turns a web page into a narrated explainer video with an animated presenter.
//!
//! The binary only parses arguments and wires the library crates together (see the
//! `vidflow` library in this package and the workspace README).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut registry = vidflow_stages::registry();
    vidflow_profiles::register(&mut registry);
    vidflow::main_with(registry)
}
