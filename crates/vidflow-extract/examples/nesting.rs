//! Times the extractor on a page of N nested `<div>`s around an article, for the depths
//! given (default 1,000, 10,000 and 100,000): the cost a hostile page can impose.
//!
//! ```sh
//! cargo run -p vidflow-extract --example nesting -- 10000 100000
//! ```

use std::time::Instant;

fn main() {
    let depths: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let depths = if depths.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        depths
    };
    let para = "<p>Rivers carry water from high ground to the sea, shaping valleys, carving \
        canyons and building deltas where they slow down. Over thousands of years a single \
        river can move mountains of sediment and change the face of a continent.</p>";
    for depth in depths {
        let html = format!(
            "<html><body>{}<article>{para}{para}</article>{}</body></html>",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        );
        let started = Instant::now();
        let result = vidflow_extract::extract_html(&html, "https://ex.org/deep");
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let words = result
            .as_ref()
            .map_or(0, |a| a.text.split_whitespace().count());
        println!(
            "{depth:>7} nested divs: {ms:>10.1} ms, {}",
            match result {
                Ok(_) => format!("article of {words} words"),
                Err(e) => format!("error: {e}"),
            }
        );
    }
}
