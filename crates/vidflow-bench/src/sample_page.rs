//! The bundled sample page (an original article with three images), written out on demand.

use std::path::{Path, PathBuf};

const PAGE: &str = include_str!("../../../examples/sample-page/index.html");
const IMAGES: [(&str, &[u8]); 3] = [
    (
        "mandelbrot.jpg",
        include_bytes!("../../../examples/sample-page/mandelbrot.jpg"),
    ),
    (
        "sierpinski.jpg",
        include_bytes!("../../../examples/sample-page/sierpinski.jpg"),
    ),
    (
        "life.jpg",
        include_bytes!("../../../examples/sample-page/life.jpg"),
    ),
];

/// Writes the sample page and its images into `dir`; returns the page's path.
pub fn write_to(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in IMAGES {
        std::fs::write(dir.join(name), bytes)?;
    }
    let page = dir.join("index.html");
    std::fs::write(&page, PAGE)?;
    Ok(page)
}

/// A long script (one segment per paragraph) made of the sample's paragraphs, for
/// benchmarks that need many minutes of narration.
pub fn long_script(words: usize) -> String {
    let paragraphs: Vec<String> = PAGE
        .split("<p>")
        .skip(1)
        .filter_map(|p| p.split("</p>").next())
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.starts_with('<') && p.split(' ').count() > 20)
        .collect();
    let mut out = String::from("Simple Rules, Endless Shapes\n\n");
    let mut count = 0;
    let mut part = 1;
    while count < words {
        for p in &paragraphs {
            out.push_str(&format!("Part {part}. {p}\n\n"));
            count += p.split(' ').count() + 2;
            part += 1;
            if count >= words {
                break;
            }
        }
    }
    out
}
