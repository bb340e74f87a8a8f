//! `vidflow`: turns a web page into a narrated explainer video with an animated presenter.
//!
//! The binary only parses arguments and wires the library crates together (see the
//! `vidflow` library in this package and the workspace README).

use std::process::ExitCode;

fn main() -> ExitCode {
    vidflow::main_with(vidflow_stages::registry())
}
