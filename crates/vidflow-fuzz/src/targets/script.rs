//! The `--script` parser: a user's own text turned into segments.

use crate::Target;

pub(super) const TARGET: Target = Target {
    name: "script",
    about: "vidflow_script::script_from_text on the text of a --script file",
    run,
    tokens: &[
        b"\n\n",
        b"\r\n",
        b"# ",
        b"## Heading\n",
        b"...",
        b"!?",
        b"\xe3\x80\x82",
        b"\t",
        b"Dr. ",
        b"e.g. ",
        b"\n- ",
    ],
    nest: &[b"\n", b"(", b"\"", b"# "],
    max_len: 1 << 20,
    test_inputs: 1000,
};

/// The file is read as UTF-8 text; an odd-length input also gives a title, as `--title` does.
fn run(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let title: String = text.chars().take(40).collect();
    let title = (input.len() % 2 == 1).then_some(title.as_str());
    if let Ok(script) = vidflow_script::script_from_text(&text, title) {
        assert!(
            !script.segments.is_empty(),
            "a script with no segments was accepted"
        );
        for segment in &script.segments {
            assert!(
                !segment.narration.trim().is_empty(),
                "a segment with nothing to say: {segment:?}"
            );
        }
    }
}
