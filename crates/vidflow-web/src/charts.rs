//! A tuning study drawn as SVG, from the report its job returns (`vidflow-profiles`'
//! encode or render report): each trial in the order it ran, and the trade-off between
//! objectives with the Pareto front drawn over it. Plain SVG text: two scatter plots do not
//! need a plotting library, and the output has no script and no inline style, so it passes
//! the page's Content-Security-Policy.

use std::fmt::Write;

use serde_json::Value;

const W: f64 = 640.0;
const H: f64 = 360.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 50.0;

/// A point: x, y, and whether it is highlighted (on the front, or the best).
type Point = (f64, f64, bool);

/// One chart's data and labels.
struct Plot {
    title: String,
    x_label: &'static str,
    /// The x values are counts (trials, threads): ticks only at whole numbers.
    whole_x: bool,
    y_label: &'static str,
    points: Vec<Point>,
    /// Joined by a line, in x order (the front; the best so far).
    line: Vec<(f64, f64)>,
}

/// Each trial in the order it ran: the encoded sample's size (encode) or frames per
/// second (render), with the best so far as a line. `None` for a report of another kind.
pub fn history_svg(report: &Value) -> Option<String> {
    let (y_label, value, lower_is_better): (_, fn(&Value) -> Option<f64>, _) =
        match report["kind"].as_str()? {
            "encode" => (
                "sample size, KiB",
                |r| Some(r["bytes"].as_f64()? / 1024.0),
                true,
            ),
            "render" => ("frames per second", |r| r["fps"].as_f64(), false),
            _ => return None,
        };
    let mut points = Vec::new();
    let mut line = Vec::new();
    let mut best: Option<f64> = None;
    for row in report["all"].as_array()? {
        let (Some(n), Some(v)) = (row["trial"].as_f64(), value(row)) else {
            continue;
        };
        let complete = row["state"] == "complete";
        points.push((n, v, complete));
        if complete {
            let better = best.is_none_or(|b| if lower_is_better { v < b } else { v > b });
            if better {
                best = Some(v);
            }
            line.push((n, best.unwrap_or(v)));
        }
    }
    Some(draw(&Plot {
        title: format!("{} trials", points.len()),
        x_label: "trial",
        whole_x: true,
        y_label,
        points,
        line,
    }))
}

/// The trade-off: SSIM against size with the Pareto front (encode), or frames per second
/// against frame threads with the best marked (render). `None` for another kind.
pub fn front_svg(report: &Value) -> Option<String> {
    match report["kind"].as_str()? {
        "encode" => {
            let key = |r: &Value| Some((r["bytes"].as_f64()? / 1024.0, r["ssim"].as_f64()?));
            let front: Vec<u64> = report["front"]
                .as_array()?
                .iter()
                .filter_map(|r| r["trial"].as_u64())
                .collect();
            let mut points = Vec::new();
            for row in report["all"].as_array()? {
                if row["state"] != "complete" {
                    continue;
                }
                if let Some((x, y)) = key(row) {
                    let on_front = row["trial"].as_u64().is_some_and(|t| front.contains(&t));
                    points.push((x, y, on_front));
                }
            }
            let mut line: Vec<(f64, f64)> =
                points.iter().filter(|p| p.2).map(|p| (p.0, p.1)).collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            Some(draw(&Plot {
                title: format!("{} on the front of {}", line.len(), points.len()),
                x_label: "sample size, KiB",
                whole_x: false,
                y_label: "SSIM",
                points,
                line,
            }))
        }
        "render" => {
            let best = report["best"]["trial"].as_u64();
            let points: Vec<Point> = report["all"]
                .as_array()?
                .iter()
                .filter(|r| r["state"] == "complete")
                .filter_map(|r| {
                    Some((
                        r["choice"]["threads"].as_f64()?,
                        r["fps"].as_f64()?,
                        r["trial"].as_u64() == best && best.is_some(),
                    ))
                })
                .collect();
            Some(draw(&Plot {
                title: "frames per second by frame threads".into(),
                x_label: "frame threads",
                whole_x: true,
                y_label: "frames per second",
                points,
                line: Vec::new(),
            }))
        }
        _ => None,
    }
}

/// Lower and upper ends of an axis with a little room, never empty.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// Where the x axis is labelled: five even steps, or for counts the whole numbers in range
/// (at most about five of them).
fn x_ticks(x0: f64, x1: f64, whole: bool) -> Vec<f64> {
    if !whole {
        return (0..=4)
            .map(|i| x0 + (x1 - x0) * f64::from(i) / 4.0)
            .collect();
    }
    // `+ 0.0` turns the -0 that ceil gives for a small negative start into 0.
    let (lo, hi) = (x0.ceil() + 0.0, x1.floor());
    if hi < lo {
        return vec![(x0 + x1) / 2.0];
    }
    let step = ((hi - lo) / 4.0).ceil().max(1.0);
    std::iter::successors(Some(lo), |v| Some(v + step))
        .take_while(|v| *v <= hi)
        .collect()
}

fn label(v: f64) -> String {
    if v.fract() == 0.0 {
        return format!("{v:.0}");
    }
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn draw(p: &Plot) -> String {
    let (x0, x1) = range(p.points.iter().map(|p| p.0));
    let (y0, y1) = range(p.points.iter().map(|p| p.1));
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let sy = |y: f64| H - BOTTOM - (y - y0) / (y1 - y0) * (H - TOP - BOTTOM);
    let mut s = String::new();
    // Colours chosen to read on white and keep a 4.5:1 contrast for the text.
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" font-family="sans-serif" font-size="12"><title>{}</title><rect width="{W}" height="{H}" fill="#ffffff"/>"##,
        escape(&p.title)
    );
    let _ = write!(
        s,
        r##"<g stroke="#5a6270"><line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b}"/></g>"##,
        b = H - BOTTOM,
        r = W - RIGHT
    );
    for xv in x_ticks(x0, x1, p.whole_x) {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#2b2f36">{}</text>"##,
            sx(xv),
            H - BOTTOM + 16.0,
            label(xv),
        );
    }
    for i in 0..=4 {
        let yv = y0 + (y1 - y0) * f64::from(i) / 4.0;
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#2b2f36">{}</text>"##,
            LEFT - 6.0,
            sy(yv) + 4.0,
            label(yv)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#2b2f36">{}</text><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle" fill="#2b2f36">{}</text>"##,
        (LEFT + W - RIGHT) / 2.0,
        H - 10.0,
        p.x_label,
        (TOP + H - BOTTOM) / 2.0,
        p.y_label
    );
    if p.line.len() > 1 {
        let pts: Vec<String> = p
            .line
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#1f5fbf" stroke-width="2"/>"##,
            pts.join(" ")
        );
    }
    for (x, y, hi) in &p.points {
        let (fill, r) = if *hi { ("#1f5fbf", 5) } else { ("#9aa3b0", 3) };
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="{r}" fill="{fill}"/>"##,
            sx(*x),
            sy(*y)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode_report() -> Value {
        json!({
            "kind": "encode",
            "front": [{"trial": 0}, {"trial": 2}],
            "all": [
                {"trial": 0, "state": "complete", "bytes": 10240, "ssim": 0.95},
                {"trial": 1, "state": "complete", "bytes": 20480, "ssim": 0.94},
                {"trial": 2, "state": "complete", "bytes": 30720, "ssim": 0.99},
                {"trial": 3, "state": "pruned", "bytes": null, "ssim": 0.9},
            ]
        })
    }

    #[test]
    fn front_marks_its_trials_and_joins_them() {
        let svg = front_svg(&encode_report()).unwrap();
        assert_eq!(svg.matches(r##"fill="#1f5fbf"/>"##).count(), 2, "{svg}");
        assert_eq!(
            svg.matches("<circle").count(),
            3,
            "the pruned trial has no size"
        );
        assert!(svg.contains("<polyline"));
        assert!(svg.contains("2 on the front of 3"));
    }

    #[test]
    fn history_has_every_trial_with_a_value_and_a_best_so_far_line() {
        let svg = history_svg(&encode_report()).unwrap();
        assert_eq!(svg.matches("<circle").count(), 3);
        // Best so far: 10 KiB at trials 0, 1 and 2 (a flat line).
        let line = svg.split("points=\"").nth(1).unwrap();
        let ys: Vec<&str> = line
            .split('"')
            .next()
            .unwrap()
            .split(' ')
            .map(|p| p.split(',').nth(1).unwrap())
            .collect();
        assert_eq!(ys.len(), 3);
        assert!(ys.iter().all(|y| *y == ys[0]), "{ys:?}");
    }

    #[test]
    fn counts_are_labelled_at_whole_numbers_only() {
        assert_eq!(x_ticks(-0.1, 2.1, true), [0.0, 1.0, 2.0]);
        assert_eq!(label(x_ticks(-0.1, 2.1, true)[0]), "0", "not -0");
        assert_eq!(x_ticks(-2.0, 41.0, true), [-2.0, 9.0, 20.0, 31.0]);
        assert_eq!(x_ticks(0.4, 0.6, true), [0.5]);
        assert_eq!(x_ticks(0.0, 1.0, false).len(), 5);
        assert_eq!(label(3.0), "3");
    }

    #[test]
    fn other_reports_have_no_chart() {
        assert!(history_svg(&json!({"kind": "video"})).is_none());
        assert!(front_svg(&json!({})).is_none());
        let render = json!({"kind": "render", "best": {"trial": 1}, "all": [
            {"trial": 0, "state": "complete", "fps": 30.0, "choice": {"threads": 1}},
            {"trial": 1, "state": "complete", "fps": 60.0, "choice": {"threads": 2}}]});
        assert!(
            front_svg(&render)
                .unwrap()
                .contains(r##"r="5" fill="#1f5fbf""##)
        );
    }
}
