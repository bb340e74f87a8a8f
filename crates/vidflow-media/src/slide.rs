//! A slide's static layer: everything on screen while a slide is up that does not move —
//! background, page title, heading and key sentence, the image panel's shadow, the
//! presenter's card, source and slide counter. It is drawn once per slide and cached;
//! frames only blend the moving parts over it.

use tiny_skia::Pixmap;
use vidflow_core::{Slide, SlideLayout};

use crate::paint::{self, Rect, Rgb};
use crate::text::{self, Align, FitOptions, TextBlock, Weight};
use crate::theme::{Geometry, Orientation, Palette};

/// What a static layer shows besides the slide itself.
pub(crate) struct SlideContext<'a> {
    pub geometry: &'a Geometry,
    pub palette: &'a Palette,
    pub title: &'a str,
    pub source: &'a str,
    /// Whom the title card's kicker names; `None` draws no kicker.
    pub site_name: Option<&'a str>,
    /// The title card's credit line ("Ada Lovelace · 14 May 2021"), if any.
    pub credit: Option<String>,
    pub total: usize,
}

/// "https://www.example.org/a/b" → "example.org/a/b": what a viewer recognises.
pub(crate) fn display_source(source: &str) -> String {
    let s = source.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let s = s.strip_prefix("www.").unwrap_or(s);
    s.trim_end_matches('/').to_string()
}

/// The title card's credit line: the author and the publication date, whichever the page
/// states. A date is shown only when it reads as one (`2021-05-14…`), so that a page's odd
/// date string never reaches the screen.
pub(crate) fn credit_line(byline: Option<&str>, published: Option<&str>) -> Option<String> {
    let byline = byline
        .map(|b| b.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|b| !b.is_empty());
    let date = published.and_then(readable_date);
    match (byline, date) {
        (Some(b), Some(d)) => Some(format!("{b} · {d}")),
        (Some(b), None) => Some(b),
        (None, Some(d)) => Some(d),
        (None, None) => None,
    }
}

/// "2021-05-14T10:00:00Z" → "14 May 2021"; `None` when the start is no calendar date.
fn readable_date(iso: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let iso = iso.trim();
    let date = iso.get(..10)?;
    if iso.len() > 10 && !iso[10..].starts_with(['T', 't', ' ']) {
        return None;
    }
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let year: u32 = y.parse().ok()?;
    let month: usize = m.parse().ok()?;
    let day: u32 = d.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || year < 1000 {
        return None;
    }
    Some(format!("{day} {} {year}", MONTHS[month - 1]))
}

/// Draws `block` at the top of `area`, returning the y just below it.
fn put(
    pixmap: &mut Pixmap,
    block: &TextBlock,
    area: Rect,
    y: f32,
    align: Align,
    color: [u8; 4],
) -> f32 {
    let clip = text::Clip {
        x0: area.x.floor() as i32,
        y0: area.y.floor() as i32,
        x1: area.right().ceil() as i32,
        y1: area.bottom().ceil() as i32,
    };
    text::draw(pixmap, block, area.x, y, area.w, align, color, Some(clip));
    y + block.height
}

/// Renders the static layer of `slide` drawn with `layout` (which may differ from the
/// slide's own when its image could not be decoded). The result is opaque.
pub(crate) fn draw_static(ctx: &SlideContext<'_>, slide: &Slide, layout: SlideLayout) -> Pixmap {
    let g = ctx.geometry;
    let p = ctx.palette;
    let u = g.u;
    let mut pm =
        Pixmap::new(g.width as u32, g.height as u32).expect("frame size checked at construction");
    let dark = layout == SlideLayout::Title;

    // Background: a soft diagonal gradient and two large, faint accent discs.
    let (top, bottom) = if dark {
        (p.dark_top, p.dark_bottom)
    } else {
        (p.bg_top, p.bg_bottom)
    };
    let full = Rect::new(0.0, 0.0, g.width, g.height);
    if let Some(shader) = tiny_skia::LinearGradient::new(
        tiny_skia::Point::from_xy(0.0, 0.0),
        tiny_skia::Point::from_xy(g.width * 0.35, g.height),
        vec![
            tiny_skia::GradientStop::new(0.0, top.color(1.0)),
            tiny_skia::GradientStop::new(1.0, bottom.color(1.0)),
        ],
        tiny_skia::SpreadMode::Pad,
        tiny_skia::Transform::identity(),
    ) {
        let paint = tiny_skia::Paint {
            shader,
            ..tiny_skia::Paint::default()
        };
        if let Some(r) = tiny_skia::Rect::from_xywh(full.x, full.y, full.w, full.h) {
            pm.fill_rect(r, &paint, tiny_skia::Transform::identity(), None);
        }
    }
    let disc = if dark { 0.16 } else { 0.07 };
    let r_big = g.width.max(g.height) * 0.28;
    paint::fill_circle(
        &mut pm,
        g.width - r_big * 0.35,
        r_big * 0.25,
        r_big,
        p.accent.color(disc),
    );
    paint::fill_circle(
        &mut pm,
        g.width - r_big * 0.05,
        r_big * 0.95,
        r_big * 0.45,
        p.accent.color(disc * 0.6),
    );
    paint::fill_circle(
        &mut pm,
        -r_big * 0.2,
        g.height + r_big * 0.15,
        r_big * 0.8,
        p.accent.color(disc * 0.8),
    );

    let (ink, muted) = if dark {
        (Rgb(250, 251, 255), Rgb(196, 203, 220))
    } else {
        (p.ink, p.muted)
    };
    let accent_text = if dark { p.accent_light } else { p.accent_ink };

    // Header: the page title, small, with an accent bar (not on the title card).
    if !dark {
        let h = g.header;
        let bar = Rect::new(h.x, h.y + 4.0 * u, 5.0 * u, h.h - 8.0 * u);
        paint::fill_rounded(&mut pm, bar, 2.5 * u, p.accent.color(1.0));
        let area = Rect::new(h.x + 18.0 * u, h.y, h.w - 18.0 * u, h.h);
        let block = text::fit(
            ctx.title,
            Weight::Bold,
            area.w,
            area.h,
            &FitOptions {
                max_size: g.header_size,
                min_size: 14.0 * u,
                max_lines: 2,
                line_spacing: 1.22,
            },
        );
        let y = area.y + (area.h - block.height) / 2.0;
        put(&mut pm, &block, area, y, Align::Left, muted.rgba(255));
    }

    match layout {
        SlideLayout::Title => draw_title(&mut pm, ctx, slide, ink, muted, accent_text),
        SlideLayout::Text => {
            draw_words(
                &mut pm,
                ctx,
                slide,
                g.text,
                g.body_max,
                ink,
                accent_text,
                true,
            );
        }
        SlideLayout::TextImage => {
            let panel = g.ti_image;
            paint::soft_shadow(&mut pm, panel, g.panel_radius, 12.0 * u, 6.0 * u, 0.13);
            // Under the image, in case its edges are translucent after anti-aliasing.
            paint::fill_rounded(
                &mut pm,
                panel,
                g.panel_radius,
                p.bg_top.mix(p.accent, 0.15).color(1.0),
            );
            let centre = g.orientation != Orientation::Landscape;
            draw_words(
                &mut pm,
                ctx,
                slide,
                g.ti_text,
                g.ti_body_max,
                ink,
                accent_text,
                centre,
            );
        }
    }

    // The presenter's card.
    let card = g.card;
    paint::soft_shadow(
        &mut pm,
        card,
        g.card_radius,
        12.0 * u,
        6.0 * u,
        if dark { 0.35 } else { 0.13 },
    );
    paint::fill_rounded_gradient(
        &mut pm,
        card,
        g.card_radius,
        p.card_top.color(1.0),
        p.card_bottom.color(1.0),
    );

    // Footer: the source and "3 / 7".
    let f = g.footer;
    let small = FitOptions {
        max_size: g.small_size,
        min_size: g.small_size * 0.8,
        max_lines: 1,
        line_spacing: 1.2,
    };
    let counter = format!("{} / {}", slide.index + 1, ctx.total.max(slide.index + 1));
    match g.aside {
        Some(aside) => {
            // Portrait: a big counter beside the presenter, the source in the footer.
            let big = text::fit(
                &format!("{:02}", slide.index + 1),
                Weight::Bold,
                aside.w,
                aside.h * 0.5,
                &FitOptions {
                    max_size: 72.0 * u,
                    min_size: 24.0 * u,
                    max_lines: 1,
                    line_spacing: 1.1,
                },
            );
            let y = aside.y + aside.h - big.height - 40.0 * u;
            put(&mut pm, &big, aside, y, Align::Left, accent_text.rgba(255));
            let of = text::fit(
                &format!("of {}", ctx.total.max(slide.index + 1)),
                Weight::Regular,
                aside.w,
                aside.h * 0.2,
                &FitOptions {
                    max_size: 22.0 * u,
                    min_size: 12.0 * u,
                    max_lines: 1,
                    line_spacing: 1.1,
                },
            );
            put(
                &mut pm,
                &of,
                aside,
                y + big.height + 8.0 * u,
                Align::Left,
                muted.rgba(255),
            );
            let src = text::fit(
                &display_source(ctx.source),
                Weight::Regular,
                f.w,
                f.h,
                &small,
            );
            put(
                &mut pm,
                &src,
                f,
                f.y + (f.h - src.height) / 2.0,
                Align::Left,
                muted.rgba(230),
            );
        }
        None => {
            let cnt = text::fit(&counter, Weight::Bold, f.w * 0.2, f.h, &small);
            let src_w = f.w - cnt.width - 32.0 * u;
            let src = text::fit(
                &display_source(ctx.source),
                Weight::Regular,
                src_w,
                f.h,
                &small,
            );
            put(
                &mut pm,
                &src,
                f,
                f.y + (f.h - src.height) / 2.0,
                Align::Left,
                muted.rgba(230),
            );
            put(
                &mut pm,
                &cnt,
                f,
                f.y + (f.h - cnt.height) / 2.0,
                Align::Right,
                accent_text.rgba(255),
            );
        }
    }
    pm
}

/// The title card: kicker (where the page is from), the page title big, an accent rule
/// and the slide's sentence.
fn draw_title(
    pm: &mut Pixmap,
    ctx: &SlideContext<'_>,
    slide: &Slide,
    ink: Rgb,
    muted: Rgb,
    accent: Rgb,
) {
    let g = ctx.geometry;
    let u = g.u;
    let area = g.title_box;
    // Where the page is from: the publication's own name, else a web page's host; a
    // local file names no one, so its card has no kicker (never the file's name).
    let kicker_text = ctx
        .site_name
        .map(str::trim)
        .unwrap_or_default()
        .to_uppercase();
    let kicker = text::fit(
        &kicker_text,
        Weight::Bold,
        area.w,
        24.0 * u,
        &FitOptions {
            max_size: 16.0 * u,
            min_size: 12.0 * u,
            max_lines: 1,
            line_spacing: 1.2,
        },
    );
    let credit = text::fit(
        ctx.credit.as_deref().unwrap_or_default(),
        Weight::Regular,
        area.w,
        26.0 * u,
        &FitOptions {
            max_size: 18.0 * u,
            min_size: 12.0 * u,
            max_lines: 1,
            line_spacing: 1.2,
        },
    );
    let title_text = if ctx.title.trim().is_empty() {
        slide.body.as_str()
    } else {
        ctx.title
    };
    let body_text = if slide.body.trim() == title_text.trim() {
        ""
    } else {
        slide.body.as_str()
    };
    let gap = 22.0 * u;
    let rule_h = 6.0 * u;
    let body_box_h = if body_text.is_empty() {
        0.0
    } else {
        area.h * 0.28
    };
    // Heights and gaps are summed in the same order as before there was a credit line, so
    // a card without one is drawn to the same pixels.
    let (kicker_h, kicker_gap) = if kicker.is_empty() {
        (0.0, 0.0)
    } else {
        (kicker.height, gap)
    };
    let (credit_h, credit_gap) = if credit.is_empty() {
        (0.0, 0.0)
    } else {
        (credit.height, gap)
    };
    let gaps = 2.0 + f32::from(!kicker.is_empty()) + f32::from(!credit.is_empty());
    let title_box_h = area.h - kicker_h - credit_h - body_box_h - gaps * gap - rule_h;
    let title = text::fit(
        title_text,
        Weight::Bold,
        area.w,
        title_box_h,
        &FitOptions {
            max_size: g.title_max,
            min_size: g.title_min,
            max_lines: 5,
            line_spacing: 1.15,
        },
    );
    let body = text::fit(
        body_text,
        Weight::Regular,
        area.w,
        body_box_h,
        &FitOptions {
            max_size: 24.0 * u,
            min_size: 16.0 * u,
            max_lines: 4,
            line_spacing: 1.35,
        },
    );
    let mut total = kicker_h + kicker_gap + title.height + gap + rule_h + credit_h + credit_gap;
    if !body.is_empty() {
        total += gap + body.height;
    }
    let mut y = area.y + ((area.h - total) / 2.0).max(0.0);
    if !kicker.is_empty() {
        y = put(pm, &kicker, area, y, Align::Left, accent.rgba(255)) + gap;
    }
    y = put(pm, &title, area, y, Align::Left, ink.rgba(255)) + gap;
    paint::fill_rounded(
        pm,
        Rect::new(area.x, y, 72.0 * u, rule_h),
        rule_h / 2.0,
        ctx.palette.accent.color(1.0),
    );
    y += rule_h + gap;
    if !credit.is_empty() {
        y = put(pm, &credit, area, y, Align::Left, ink.rgba(200)) + credit_gap;
    }
    if !body.is_empty() {
        put(pm, &body, area, y, Align::Left, muted.rgba(255));
    }
}

/// Heading (accent, bold) over a short accent rule over the key sentence (big).
#[allow(clippy::too_many_arguments)]
fn draw_words(
    pm: &mut Pixmap,
    ctx: &SlideContext<'_>,
    slide: &Slide,
    area: Rect,
    body_max: f32,
    ink: Rgb,
    accent: Rgb,
    centre: bool,
) {
    let g = ctx.geometry;
    let u = g.u;
    let heading_text = slide.heading.as_deref().unwrap_or("").trim();
    let heading = text::fit(
        heading_text,
        Weight::Bold,
        area.w,
        area.h * 0.3,
        &FitOptions {
            max_size: g.heading_size,
            min_size: 16.0 * u,
            max_lines: 2,
            line_spacing: 1.25,
        },
    );
    let gap = 16.0 * u;
    let rule_h = 5.0 * u;
    let head_h = if heading.is_empty() {
        0.0
    } else {
        heading.height + gap
    };
    let body_h = area.h - head_h - rule_h - gap;
    let body = text::fit(
        &slide.body,
        Weight::Regular,
        area.w,
        body_h,
        &FitOptions {
            max_size: body_max,
            min_size: g.body_min,
            max_lines: 8,
            line_spacing: 1.3,
        },
    );
    let total = head_h + rule_h + gap + body.height;
    let mut y = if centre {
        area.y + ((area.h - total) / 2.0).max(0.0)
    } else {
        area.y + 4.0 * u
    };
    if !heading.is_empty() {
        y = put(pm, &heading, area, y, Align::Left, accent.rgba(255)) + gap;
    }
    paint::fill_rounded(
        pm,
        Rect::new(area.x, y, 56.0 * u, rule_h),
        rule_h / 2.0,
        ctx.palette.accent.color(1.0),
    );
    y += rule_h + gap;
    put(pm, &body, area, y, Align::Left, ink.rgba(255));
}

/// A subtitle cue: at most two lines, centred, white on a rounded dark backing.
/// Returns the premultiplied RGBA layer and its size.
pub(crate) fn draw_cue(g: &Geometry, lines: &[String]) -> Option<Pixmap> {
    let u = g.u;
    let pad_x = 22.0 * u;
    let pad_y = 12.0 * u;
    let max_w = g.subs.w - 2.0 * pad_x;
    let max_h = g.subs.h - 2.0 * pad_y;
    let lines: Vec<String> = lines
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return None;
    }
    let spacing = 1.25;
    // Keep the storyboard's line breaks when they fit; otherwise re-wrap into two lines.
    let as_given = TextBlock::from_lines(lines.clone(), Weight::Bold, g.sub_size, spacing);
    let block = if lines.len() <= 2 && as_given.width <= max_w && as_given.height <= max_h {
        as_given
    } else {
        text::fit(
            &lines.join(" "),
            Weight::Bold,
            max_w,
            max_h,
            &FitOptions {
                max_size: g.sub_size,
                min_size: g.sub_size * 0.6,
                max_lines: 2,
                line_spacing: spacing,
            },
        )
    };
    let w = (block.width + 2.0 * pad_x).ceil().min(g.subs.w) as u32;
    let h = (block.height + 2.0 * pad_y).ceil().min(g.subs.h) as u32;
    let mut pm = Pixmap::new(w.max(1), h.max(1))?;
    let backing = Rect::new(0.0, 0.0, w as f32, h as f32);
    paint::fill_rounded(&mut pm, backing, 14.0 * u, Rgb(14, 17, 27).color(0.84));
    text::draw(
        &mut pm,
        &block,
        pad_x,
        pad_y,
        w as f32 - 2.0 * pad_x,
        Align::Center,
        [255, 255, 255, 255],
        None,
    );
    Some(pm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidflow_core::VideoSize;

    fn slide(layout: SlideLayout) -> Slide {
        Slide {
            start: 0.0,
            end: 5.0,
            index: 0,
            heading: Some("A heading".into()),
            body: "The key sentence of this slide.".into(),
            image: None,
            layout,
        }
    }

    /// Bounding box (x0, y0, x1, y1) of the pixels that differ between two layers.
    fn diff_box(a: &Pixmap, b: &Pixmap) -> Option<(u32, u32, u32, u32)> {
        let w = a.width();
        let mut bb: Option<(u32, u32, u32, u32)> = None;
        for (i, (p, q)) in a.pixels().iter().zip(b.pixels()).enumerate() {
            if p != q {
                let (x, y) = (i as u32 % w, i as u32 / w);
                bb = Some(match bb {
                    None => (x, y, x + 1, y + 1),
                    Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1)),
                });
            }
        }
        bb
    }

    fn within(bb: (u32, u32, u32, u32), r: Rect) -> bool {
        bb.0 as f32 >= r.x.floor()
            && bb.1 as f32 >= r.y.floor()
            && bb.2 as f32 <= r.right().ceil()
            && bb.3 as f32 <= r.bottom().ceil()
    }

    #[test]
    fn a_300_character_title_stays_inside_its_box_at_every_size() {
        let long = "The Extraordinarily Long and Winding Title of a Page That Goes On and On About Everything It Could Possibly Cover, Including Supercalifragilisticexpialidocious Words, Numbers Like 1234567890, and Far More Detail Than Any Reasonable Headline Should Ever Contain In One";
        let long = &long[..long.len().min(300)];
        assert!(long.len() >= 250, "{}", long.len());
        let long = format!("{long} {}", "x".repeat(300 - long.len() - 1));
        assert_eq!(long.chars().count(), 300);
        for size in VideoSize::SUPPORTED {
            let g = Geometry::new(size);
            let p = Palette::new([200, 60, 90]);
            let ctx = |title| SlideContext {
                geometry: &g,
                palette: &p,
                title,
                source: "https://example.org/x",
                site_name: Some("example.org"),
                credit: Some("Ada Lovelace · 14 May 2021".into()),
                total: 3,
            };
            // Title card: every pixel the title changes lies inside the title box.
            for layout in [
                SlideLayout::Title,
                SlideLayout::Text,
                SlideLayout::TextImage,
            ] {
                let short = draw_static(&ctx("Short"), &slide(layout), layout);
                let tall = draw_static(&ctx(&long), &slide(layout), layout);
                let bb = diff_box(&short, &tall).expect("the title is drawn");
                let bounds = if layout == SlideLayout::Title {
                    g.title_box
                } else {
                    g.header
                };
                assert!(
                    within(bb, bounds),
                    "{size} {layout:?}: title drawn at {bb:?}, outside {bounds:?}"
                );
            }
        }
    }

    #[test]
    fn credit_line_reads_dates_and_skips_odd_ones() {
        assert_eq!(
            credit_line(Some(" Dan  Goodin "), Some("2021-05-14T10:00:00Z")).as_deref(),
            Some("Dan Goodin · 14 May 2021")
        );
        assert_eq!(
            credit_line(None, Some("2018-04-05T06:00")).as_deref(),
            Some("5 April 2018")
        );
        assert_eq!(
            credit_line(Some("Ada"), Some("yesterday")).as_deref(),
            Some("Ada")
        );
        assert_eq!(credit_line(None, Some("2021-13-01")), None);
        assert_eq!(credit_line(None, Some("2021-05-14x")), None);
        assert_eq!(credit_line(Some(" "), None), None);
    }

    #[test]
    fn title_card_kicker_and_credit() {
        let g = Geometry::new(VideoSize {
            width: 1280,
            height: 720,
        });
        let p = Palette::new([200, 60, 90]);
        let ctx = |site_name, credit: Option<&str>| SlideContext {
            geometry: &g,
            palette: &p,
            title: "Tides explained",
            source: "tides.html",
            site_name,
            credit: credit.map(Into::into),
            total: 3,
        };
        let card =
            |c: &SlideContext<'_>| draw_static(c, &slide(SlideLayout::Title), SlideLayout::Title);
        let bare = card(&ctx(None, None));
        let named = card(&ctx(Some("Sea Notes"), None));
        let other = card(&ctx(Some("Tide Tables"), None));
        let credited = card(&ctx(Some("Sea Notes"), Some("Ada Lovelace · 14 May 2021")));
        // The kicker shows the site's name, and only inside the title box.
        let bb = diff_box(&named, &other).expect("the kicker names the site");
        assert!(within(bb, g.title_box), "{bb:?}");
        assert!(bare.data() != named.data());
        // Without a site name nothing stands in for it: not the file's name.
        let from_file = card(&SlideContext {
            source: "other-file.html",
            ..ctx(None, None)
        });
        // (The footer names the file; the title box must not.)
        let title_rows = |pm: &Pixmap| -> Vec<u8> {
            let b = g.title_box;
            let w = pm.width() as usize * 4;
            let (x0, x1) = (b.x.floor() as usize * 4, b.right().ceil() as usize * 4);
            (b.y.floor() as usize..b.bottom().ceil() as usize)
                .flat_map(|y| pm.data()[y * w + x0..y * w + x1].to_vec())
                .collect()
        };
        assert!(title_rows(&bare) == title_rows(&from_file));
        let bb = diff_box(&named, &credited).expect("the credit line is drawn");
        assert!(within(bb, g.title_box), "{bb:?}");
        // The same inputs draw the same pixels.
        assert!(
            credited.data()
                == card(&ctx(Some("Sea Notes"), Some("Ada Lovelace · 14 May 2021"))).data()
        );
    }

    #[test]
    fn long_key_sentences_stay_inside_their_box() {
        let body = "word ".repeat(120);
        for size in VideoSize::SUPPORTED {
            let g = Geometry::new(size);
            let p = Palette::new([37, 99, 235]);
            let ctx = SlideContext {
                geometry: &g,
                palette: &p,
                title: "T",
                source: "s",
                site_name: None,
                credit: None,
                total: 1,
            };
            for (layout, area) in [
                (SlideLayout::Text, g.text),
                (SlideLayout::TextImage, g.ti_text),
            ] {
                let mut s = slide(layout);
                let short = draw_static(&ctx, &s, layout);
                s.body = body.clone();
                s.heading = Some("A heading that is also far too long to fit on one line of any slide at all, really".into());
                let long = draw_static(&ctx, &s, layout);
                let bb = diff_box(&short, &long).expect("drawn");
                assert!(
                    within(bb, area),
                    "{size} {layout:?}: {bb:?} outside {area:?}"
                );
            }
        }
    }

    #[test]
    fn cue_layers_fit_the_band() {
        for size in VideoSize::SUPPORTED {
            let g = Geometry::new(size);
            for lines in [
                vec!["Short".to_string()],
                vec![
                    "A line of about forty-two characters, yes".into(),
                    "and a second one of similar length too".into(),
                ],
                vec![
                    "one".into(),
                    "two".into(),
                    "three lines are re-wrapped into two".into(),
                ],
                vec!["W".repeat(200)],
            ] {
                let pm = draw_cue(&g, &lines).expect("a cue layer");
                assert!(
                    pm.width() as f32 <= g.subs.w.ceil() && pm.height() as f32 <= g.subs.h.ceil(),
                    "{size}"
                );
            }
            assert!(draw_cue(&g, &["  ".to_string()]).is_none());
        }
    }
}
