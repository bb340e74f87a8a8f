//! The slide theme: colours derived from the accent, and where everything goes at each
//! frame size.
//!
//! Layouts are designed in "design units" on a 1280×720 (landscape), 720×720 (square) or
//! 720×1280 (portrait) canvas and scaled by `min(width, height) / 720`, so 720p and
//! 1080p look the same and only the proportions change with the orientation. The boxes
//! never overlap: text, image panel, presenter card and subtitle band each have their
//! own area, which is how the presenter never covers the text or the subtitles.

use vidflow_core::VideoSize;

use crate::paint::{Rect, Rgb};

/// The frame's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Orientation {
    Landscape,
    Square,
    Portrait,
}

/// Colours of one video.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Palette {
    /// Page background, top and bottom of its gradient.
    pub bg_top: Rgb,
    pub bg_bottom: Rgb,
    /// Main text.
    pub ink: Rgb,
    /// Secondary text (footer, header title).
    pub muted: Rgb,
    /// The accent as given.
    pub accent: Rgb,
    /// The accent darkened until it reads as text on the background.
    pub accent_ink: Rgb,
    /// Title card background, top and bottom.
    pub dark_top: Rgb,
    pub dark_bottom: Rgb,
    /// The accent lightened until it reads on the title card.
    pub accent_light: Rgb,
    /// Presenter card gradient.
    pub card_top: Rgb,
    pub card_bottom: Rgb,
}

impl Palette {
    pub fn new(accent: [u8; 3]) -> Palette {
        let accent = Rgb(accent[0], accent[1], accent[2]);
        let white = Rgb(255, 255, 255);
        let bg_top = Rgb(247, 248, 252);
        let bg_bottom = bg_top.mix(accent, 0.10);
        let ink = Rgb(22, 27, 41);
        let dark_top = Rgb(16, 21, 36);
        let dark_bottom = dark_top.mix(accent, 0.30);
        // Readable contrast whatever accent the user picked: walk it towards ink (or
        // white) until WCAG AA (4.5:1) holds against the background it sits on.
        let mut accent_ink = accent;
        let mut t = 0.0;
        while accent_ink.contrast(bg_bottom) < 4.5 && t < 1.0 {
            t += 0.05;
            accent_ink = accent.mix(ink, t);
        }
        let mut accent_light = accent;
        let mut t = 0.0;
        while accent_light.contrast(dark_bottom) < 4.5 && t < 1.0 {
            t += 0.05;
            accent_light = accent.mix(white, t);
        }
        Palette {
            bg_top,
            bg_bottom,
            ink,
            muted: Rgb(88, 97, 116),
            accent,
            accent_ink,
            dark_top,
            dark_bottom,
            accent_light,
            card_top: white.mix(accent, 0.10),
            card_bottom: white.mix(accent, 0.32),
        }
    }
}

/// Where everything goes at one frame size, in pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub width: f32,
    pub height: f32,
    pub orientation: Orientation,
    /// Pixels per design unit.
    pub u: f32,
    /// Page title on content slides.
    pub header: Rect,
    /// Heading and key sentence on text-only slides.
    pub text: Rect,
    /// Heading and key sentence beside/under the image.
    pub ti_text: Rect,
    /// The image panel.
    pub ti_image: Rect,
    /// Kicker, title and first sentence of the title card.
    pub title_box: Rect,
    /// The presenter's card.
    pub card: Rect,
    /// Subtitle band: cues are centred in it and sit on its bottom edge.
    pub subs: Rect,
    /// Footer row: source on the left, slide counter on the right.
    pub footer: Rect,
    /// Portrait only: area left of the presenter card for the counter and source.
    pub aside: Option<Rect>,
    /// Type scale (pixels).
    pub header_size: f32,
    pub heading_size: f32,
    pub body_max: f32,
    pub ti_body_max: f32,
    pub body_min: f32,
    pub title_max: f32,
    pub title_min: f32,
    pub sub_size: f32,
    pub small_size: f32,
    /// Corner radii.
    pub panel_radius: f32,
    pub card_radius: f32,
}

impl Geometry {
    pub fn new(size: VideoSize) -> Geometry {
        let (w, h) = (size.width as f32, size.height as f32);
        let u = w.min(h) / 720.0;
        let orientation = if w > h * 1.1 {
            Orientation::Landscape
        } else if h > w * 1.1 {
            Orientation::Portrait
        } else {
            Orientation::Square
        };
        // Boxes in design units: (x, y, w, h).
        type B = (f32, f32, f32, f32);
        let (header, text, ti_text, ti_image, title_box, card, subs, footer, aside): (
            B,
            B,
            B,
            B,
            B,
            B,
            B,
            B,
            Option<B>,
        ) = match orientation {
            Orientation::Landscape => {
                let (dw, dh) = (w / u, h / u);
                let m = 56.0;
                let card = (dw - m - 240.0, dh - 342.0, 240.0, 276.0);
                let subs_right = card.0 - 28.0;
                (
                    (m, 34.0, dw - 2.0 * m, 62.0),
                    (m, 128.0, subs_right - m, 388.0),
                    (
                        m + 592.0,
                        128.0,
                        dw - 2.0 * m - 592.0,
                        card.1 - 24.0 - 128.0,
                    ),
                    (m, 128.0, 560.0, 388.0),
                    (m, 110.0, subs_right - m - 40.0, 410.0),
                    card,
                    (m, card.1 + card.3 - 104.0, subs_right - m, 104.0),
                    (m, dh - 50.0, dw - 2.0 * m, 24.0),
                    None,
                )
            }
            Orientation::Square => {
                let m = 44.0;
                let subs = (m, 566.0, 632.0, 98.0);
                let card = (476.0, 318.0, 200.0, 230.0);
                (
                    (m, 28.0, 632.0, 54.0),
                    (m, 108.0, card.0 - 24.0 - m, 440.0),
                    (m, 108.0, 632.0, 186.0),
                    (m, card.1, card.0 - 24.0 - m, card.3),
                    (m, 100.0, card.0 - 24.0 - m, 448.0),
                    card,
                    subs,
                    (m, 678.0, 632.0, 20.0),
                    None,
                )
            }
            Orientation::Portrait => {
                let m = 44.0;
                let card = (396.0, 780.0, 280.0, 300.0);
                (
                    (m, 60.0, 632.0, 68.0),
                    (m, 168.0, 632.0, 572.0),
                    (m, 536.0, 632.0, 214.0),
                    (m, 168.0, 632.0, 340.0),
                    (m, 168.0, 632.0, 572.0),
                    card,
                    (m, 1100.0, 632.0, 104.0),
                    (m, 1224.0, 632.0, 22.0),
                    Some((m, card.1, card.0 - 24.0 - m, card.3)),
                )
            }
        };
        let r = |b: B| Rect::new(b.0 * u, b.1 * u, b.2 * u, b.3 * u);
        let (sub_size, body_max) = match orientation {
            Orientation::Landscape => (28.0, 44.0),
            Orientation::Square => (24.0, 36.0),
            Orientation::Portrait => (28.0, 46.0),
        };
        Geometry {
            width: w,
            height: h,
            orientation,
            u,
            header: r(header),
            text: r(text),
            ti_text: r(ti_text),
            ti_image: r(ti_image),
            title_box: r(title_box),
            card: r(card),
            subs: r(subs),
            footer: r(footer),
            aside: aside.map(r),
            header_size: 22.0 * u,
            heading_size: 24.0 * u,
            body_max: body_max * u,
            ti_body_max: 34.0 * u,
            body_min: 20.0 * u,
            title_max: 60.0 * u,
            title_min: 24.0 * u,
            sub_size: sub_size * u,
            small_size: 15.0 * u,
            panel_radius: 22.0 * u,
            card_radius: 28.0 * u,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(a: Rect, b: Rect) -> bool {
        a.x < b.right() && b.x < a.right() && a.y < b.bottom() && b.y < a.bottom()
    }

    fn inside(a: Rect, w: f32, h: f32) -> bool {
        a.x >= 0.0 && a.y >= 0.0 && a.right() <= w && a.bottom() <= h && a.w > 0.0 && a.h > 0.0
    }

    #[test]
    fn presenter_card_never_overlaps_text_or_subtitles() {
        for size in VideoSize::SUPPORTED {
            let g = Geometry::new(size);
            let all = [
                g.header,
                g.text,
                g.ti_text,
                g.ti_image,
                g.title_box,
                g.subs,
                g.footer,
            ];
            for (i, b) in all.iter().enumerate() {
                assert!(
                    inside(*b, g.width, g.height),
                    "{size}: box {i} {b:?} leaves the frame"
                );
                if i != 6 {
                    assert!(!overlaps(g.card, *b), "{size}: card overlaps box {i}");
                }
            }
            assert!(inside(g.card, g.width, g.height));
            for b in [g.text, g.ti_text, g.ti_image, g.title_box, g.header] {
                assert!(!overlaps(g.subs, b), "{size}: subtitles overlap {b:?}");
            }
            assert!(
                !overlaps(g.ti_text, g.ti_image),
                "{size}: text overlaps image"
            );
        }
    }

    #[test]
    fn accent_text_is_readable_for_any_accent() {
        for accent in [
            [255, 255, 0],
            [0, 0, 0],
            [255, 255, 255],
            [37, 99, 235],
            [0, 200, 120],
        ] {
            let p = Palette::new(accent);
            assert!(p.accent_ink.contrast(p.bg_bottom) >= 4.5, "{accent:?}");
            assert!(p.accent_light.contrast(p.dark_bottom) >= 4.5, "{accent:?}");
            assert!(p.ink.contrast(p.bg_bottom) >= 7.0);
        }
    }
}
