//! The built-in vector presenters: their designs and the per-frame renderer.
//!
//! A figure is drawn in a fixed space of 360x400 units (head and shoulders, bottom-centred).
//! Everything that does not depend on the pose — silhouettes, gradients, hair, clothing, the
//! nine mouths — is turned into tiny-skia paths once, when the avatar is created, and
//! rendered into layers once per output size (see [`crate::raster`]). A frame then only
//! computes the motion transforms, composites the layers under them, and draws the eyelids
//! for the current blink as vectors.

use tiny_skia::{
    Color, FillRule, IntRect, LineCap, LineJoin, Paint, Path, PixmapMut, Rect, Stroke, Transform,
};
use vidflow_core::Viseme;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::Pose;
use crate::draw::{
    Draw, Pen, alpha, circles, ellipse, linear, mirror, mix, radial, rgb, shade, solid, tint,
    with_mirror,
};
use crate::motion::{Idle, idle};
use crate::mouth::{MouthArt, MouthColors, mouth_art};
use crate::raster::{self, Layer};

/// Width of the figure space.
pub(crate) const FIGURE_W: f32 = 360.0;
/// Height of the figure space.
pub(crate) const FIGURE_H: f32 = 400.0;
/// The head turns about the base of the neck.
const HEAD_PIVOT: (f32, f32) = (180.0, 292.0);
/// Centres of the eyes (viewer's left, viewer's right).
const EYE_CENTRES: [(f32, f32); 2] = [(148.0, 170.0), (212.0, 170.0)];

/// Colours of one presenter.
#[derive(Clone, Copy)]
pub(crate) struct Palette {
    pub skin: Color,
    pub lip: Color,
    pub hair: Color,
    pub hair_light: Color,
    pub iris: Color,
    pub brow: Color,
    /// The outer garment.
    pub clothing: Color,
    /// The shirt or collar under it.
    pub shirt: Color,
    /// Tie, jewellery or glasses frames.
    pub accent: Color,
}

/// Haircuts the figures can wear.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Hair {
    /// Short, side-parted, swept across the forehead.
    SidePart,
    /// Shoulder-length waves with a side-swept fringe.
    LongWavy,
    /// Short rounded curls.
    Curly,
}

/// Clothing the figures can wear.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Outfit {
    /// Jacket with lapels over a collared shirt and tie.
    Blazer,
    /// Scoop-necked top with a pendant.
    Blouse,
    /// Crew-neck sweater over a collared shirt.
    Sweater,
}

/// The design of one built-in presenter.
#[derive(Clone, Copy)]
pub(crate) struct Design {
    pub palette: Palette,
    pub hair: Hair,
    pub outfit: Outfit,
    /// Half the face width at the cheekbones.
    pub face_half_w: f32,
    /// Half the neck width.
    pub neck_half_w: f32,
    /// Shoulder width relative to the default.
    pub shoulders: f32,
    /// Thickness of the upper lash line.
    pub lash: f32,
    /// A flick at the outer corner of the lash line.
    pub wing: bool,
    /// Brow thickness relative to the default.
    pub brow: f32,
    pub glasses: bool,
}

/// What a drawing step moves with.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    /// Shoulders and neck: breathing.
    Body,
    /// Everything on the head: sway, bob, tilt.
    Head,
}

/// One step of drawing a figure.
#[derive(Clone)]
enum Op {
    /// A pose-independent shape that moves with `Part` (boxed: most of the list is these,
    /// and the markers should not pay for their size).
    Draw(Part, Box<Draw>),
    /// The eyelids and lash lines, which follow the pose's eye closure.
    Lids,
    /// The mouth for the pose's viseme.
    Mouth,
}

/// A filled shape moving with `part`.
fn fill(part: Part, path: Path, paint: Paint<'static>) -> Op {
    Op::Draw(part, Box::new(Draw::Fill(path, paint)))
}

/// A stroked line moving with `part`.
fn line(part: Part, path: Path, paint: Paint<'static>, stroke: Stroke) -> Op {
    Op::Draw(part, Box::new(Draw::Stroke(path, paint, stroke)))
}

/// An almond eye: two cubic curves between the same corners.
#[derive(Clone, Copy)]
struct EyeCurves {
    outer: (f32, f32),
    inner: (f32, f32),
    /// Controls of the upper curve, outer to inner.
    top: [(f32, f32); 2],
    /// Controls of the lower curve, outer to inner.
    bottom: [(f32, f32); 2],
}

impl EyeCurves {
    /// The left eye (viewer's left) at `(cx, cy)`; the right one mirrors it.
    fn new(cx: f32, cy: f32, mirrored: bool) -> Self {
        // Outer corner slightly higher than the inner one: a friendly upward tilt.
        let pts = [
            (cx - 16.5, cy - 0.5),
            (cx + 15.0, cy + 1.8),
            (cx - 10.0, cy - 11.5),
            (cx + 7.0, cy - 12.0),
            (cx - 9.0, cy + 7.5),
            (cx + 8.0, cy + 7.2),
        ];
        let m = |(x, y): (f32, f32)| {
            if mirrored { (2.0 * cx - x, y) } else { (x, y) }
        };
        EyeCurves {
            outer: m(pts[0]),
            inner: m(pts[1]),
            top: [m(pts[2]), m(pts[3])],
            bottom: [m(pts[4]), m(pts[5])],
        }
    }

    /// Controls of the lid edge for `closure` (0 = the upper curve, 1 = the lower curve).
    fn lid(&self, closure: f32) -> [(f32, f32); 2] {
        let l = |a: (f32, f32), b: (f32, f32)| {
            (a.0 + (b.0 - a.0) * closure, a.1 + (b.1 - a.1) * closure)
        };
        [
            l(self.top[0], self.bottom[0]),
            l(self.top[1], self.bottom[1]),
        ]
    }

    fn white(&self) -> Path {
        let (o, i, t, b) = (self.outer, self.inner, self.top, self.bottom);
        Pen::at(o.0, o.1)
            .curve(t[0].0, t[0].1, t[1].0, t[1].1, i.0, i.1)
            .curve(b[1].0, b[1].1, b[0].0, b[0].1, o.0, o.1)
            .close()
            .done()
    }

    /// The lid covering the eye down to `closure`; `None` while the eye is open.
    fn lid_cover(&self, closure: f32) -> Option<Path> {
        if closure <= 0.01 {
            return None;
        }
        let (o, i, t) = (self.outer, self.inner, self.top);
        let l = self.lid(closure);
        // Overshoot the upper curve a little so no sliver of white shows along the lash line.
        Pen::at(o.0, o.1)
            .curve(t[0].0, t[0].1 - 1.0, t[1].0, t[1].1 - 1.0, i.0, i.1)
            .curve(l[1].0, l[1].1, l[0].0, l[0].1, o.0, o.1)
            .close()
            .try_done()
    }

    /// The lash line along the lid edge.
    fn lash_line(&self, closure: f32, wing: bool) -> Path {
        let (o, i) = (self.outer, self.inner);
        let l = self.lid(closure);
        let mut pen = Pen::at(i.0, i.1).curve(l[1].0, l[1].1, l[0].0, l[0].1, o.0, o.1);
        if wing {
            // The flick points away from the face and up, and droops as the eye closes.
            let dir = if o.0 < i.0 { -1.0 } else { 1.0 };
            pen = pen.quad(
                o.0 + dir * 2.5,
                o.1 - 1.0,
                o.0 + dir * 5.5,
                o.1 - 3.5 + closure * 3.0,
            );
        }
        pen.done()
    }
}

/// A built-in presenter, prepared for rendering.
pub(crate) struct Figure {
    ops: Vec<Op>,
    eyes: [EyeCurves; 2],
    /// Both eyes' almonds: the clip of the eyeballs.
    eye_whites: Path,
    lid_paint: Paint<'static>,
    lash_paint: Paint<'static>,
    lash_stroke: Stroke,
    wing: bool,
    mouths: Vec<MouthArt>,
    /// Pre-rendered layers per output size; a video asks for one size every frame.
    rasters: Mutex<HashMap<(u32, u32), Arc<Raster>>>,
}

/// How many output sizes keep their layers before the cache starts over.
const SIZES_KEPT: usize = 8;

/// One step of compositing a frame.
enum Step {
    /// A pre-rendered run of shapes that moves with the part.
    Layer(Part, Layer),
    /// The eyelids, drawn as vectors for the pose's closure.
    Lids,
    /// The pose's mouth, from [`Raster::mouths`].
    Mouth,
}

/// A figure pre-rendered for one output size.
struct Raster {
    /// Figure units to output pixels at rest.
    base: Transform,
    steps: Vec<Step>,
    /// The nine mouths in [`Viseme::ALL`] order.
    mouths: Vec<Option<Layer>>,
}

fn stroke(width: f32) -> Stroke {
    Stroke {
        width,
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        ..Stroke::default()
    }
}

/// Where the figure space lands in a `width` x `height` layer: scaled to fit, bottom-centred.
pub(crate) fn placement(width: u32, height: u32) -> Transform {
    let (w, h) = (width as f32, height as f32);
    let s = (w / FIGURE_W).min(h / FIGURE_H);
    Transform::from_row(s, 0.0, 0.0, s, (w - FIGURE_W * s) * 0.5, h - FIGURE_H * s)
}

fn face_path(hw: f32) -> Path {
    let x = 180.0;
    Pen::at(x, 70.0)
        .curve(x + 0.62 * hw, 70.0, x + hw, 102.0, x + hw, 160.0)
        .curve(x + hw, 198.0, x + 0.9 * hw, 226.0, x + 0.64 * hw, 248.0)
        .curve(x + 0.42 * hw, 266.0, x + 0.2 * hw, 272.0, x, 272.0)
        .curve(
            x - 0.2 * hw,
            272.0,
            x - 0.42 * hw,
            266.0,
            x - 0.64 * hw,
            248.0,
        )
        .curve(x - 0.9 * hw, 226.0, x - hw, 198.0, x - hw, 160.0)
        .curve(x - hw, 102.0, x - 0.62 * hw, 70.0, x, 70.0)
        .close()
        .done()
}

/// Shoulders and torso, with the neckline cut for `outfit`.
fn torso_path(shoulders: f32, outfit: Outfit) -> Path {
    let sx = |v: f32| 180.0 + (v - 180.0) * shoulders;
    let pen = Pen::at(sx(2.0), 420.0)
        .line(sx(4.0), 384.0)
        .curve(sx(6.0), 346.0, sx(26.0), 326.0, sx(68.0), 315.0)
        .curve(sx(106.0), 305.0, 132.0, 300.0, 146.0, 292.0);
    let pen = match outfit {
        Outfit::Blazer => pen.line(214.0, 292.0),
        Outfit::Blouse => pen.curve(156.0, 330.0, 204.0, 330.0, 214.0, 292.0),
        Outfit::Sweater => pen.quad(180.0, 324.0, 214.0, 292.0),
    };
    pen.curve(228.0, 300.0, sx(254.0), 305.0, sx(292.0), 315.0)
        .curve(sx(334.0), 326.0, sx(354.0), 346.0, sx(356.0), 384.0)
        .line(sx(358.0), 420.0)
        .close()
        .done()
}

impl Figure {
    /// Prepares every pose-independent path and paint of `d`.
    pub(crate) fn build(d: &Design) -> Figure {
        let p = d.palette;
        let skin_shadow = mix(p.skin, rgb(0x6a2418), 0.28);
        let skin_light = tint(p.skin, 0.12);
        let mut ops = Vec::new();
        let add = |ops: &mut Vec<Op>, part, path, paint| ops.push(fill(part, path, paint));

        // Behind everything: the back of the hair.
        hair_back(&mut ops, d);

        // Neck and the skin a neckline shows.
        let nw = d.neck_half_w;
        let neck = Pen::at(180.0 - nw, 200.0)
            .line(180.0 - nw, 290.0)
            .quad(180.0 - nw - 4.0, 304.0, 180.0 - nw - 28.0, 312.0)
            .line(180.0 + nw + 28.0, 312.0)
            .quad(180.0 + nw + 4.0, 304.0, 180.0 + nw, 290.0)
            .line(180.0 + nw, 200.0)
            .close()
            .jump(126.0, 300.0)
            .line(234.0, 300.0)
            .line(234.0, 372.0)
            .line(126.0, 372.0)
            .close()
            .done();
        add(
            &mut ops,
            Part::Body,
            neck,
            linear(
                180.0,
                240.0,
                180.0,
                320.0,
                &[
                    (0.0, shade(skin_shadow, 0.12)),
                    (0.5, skin_shadow),
                    (1.0, p.skin),
                ],
            ),
        );

        clothing(&mut ops, d);

        // Ears, behind the face's edge.
        let ear_x = d.face_half_w - 1.0;
        let ears = with_mirror(ellipse(180.0 - ear_x, 180.0, 10.5, 19.0));
        add(
            &mut ops,
            Part::Head,
            ears,
            radial(
                180.0,
                180.0,
                ear_x + 10.0,
                40.0,
                &[
                    (0.0, shade(p.skin, 0.25)),
                    (0.8, p.skin),
                    (1.0, shade(p.skin, 0.1)),
                ],
            ),
        );
        let inner_ear = with_mirror(
            Pen::at(180.0 - ear_x - 3.0, 170.0)
                .quad(180.0 - ear_x - 7.0, 180.0, 180.0 - ear_x - 2.0, 192.0)
                .done(),
        );
        ops.push(line(
            Part::Head,
            inner_ear,
            solid(alpha(skin_shadow, 0.7)),
            stroke(2.0),
        ));

        // Face: base colour, then a soft falloff towards the edges for roundness.
        let face = face_path(d.face_half_w);
        add(&mut ops, Part::Head, face.clone(), solid(p.skin));
        add(
            &mut ops,
            Part::Head,
            face,
            radial(
                172.0,
                150.0,
                d.face_half_w * 1.28,
                150.0,
                &[
                    (0.0, alpha(skin_light, 0.55)),
                    (0.35, alpha(p.skin, 0.0)),
                    (0.68, alpha(p.skin, 0.0)),
                    (1.0, alpha(skin_shadow, 0.75)),
                ],
            ),
        );
        // Cheeks.
        let blush = mix(p.skin, rgb(0xe0606a), 0.45);
        for cx in [180.0 - 42.0, 180.0 + 42.0] {
            add(
                &mut ops,
                Part::Head,
                ellipse(cx, 212.0, 18.0, 12.0),
                radial(
                    cx,
                    212.0,
                    18.0,
                    12.0,
                    &[(0.0, alpha(blush, 0.35)), (1.0, alpha(blush, 0.0))],
                ),
            );
        }

        // Nose: a shadowed side, the underside and nostrils; no outline.
        add(
            &mut ops,
            Part::Head,
            ellipse(180.0, 196.0, 4.0, 10.0),
            solid(alpha(skin_light, 0.45)),
        );
        ops.push(line(
            Part::Head,
            Pen::at(186.0, 184.0)
                .quad(192.0, 200.0, 188.0, 207.0)
                .done(),
            solid(alpha(skin_shadow, 0.45)),
            stroke(1.6),
        ));
        ops.push(line(
            Part::Head,
            Pen::at(172.0, 208.0)
                .quad(180.0, 213.5, 188.0, 208.0)
                .done(),
            solid(alpha(shade(skin_shadow, 0.15), 0.75)),
            stroke(1.8),
        ));
        add(
            &mut ops,
            Part::Head,
            with_mirror(ellipse(174.0, 208.5, 2.6, 1.5)),
            solid(alpha(shade(skin_shadow, 0.35), 0.6)),
        );

        // Eyeballs (clipped to the almond of each eye), creases and the lower lids. They never
        // change, so they belong to the face layer; only the lids move.
        let eyes = [
            EyeCurves::new(EYE_CENTRES[0].0, EYE_CENTRES[0].1, false),
            EyeCurves::new(EYE_CENTRES[1].0, EYE_CENTRES[1].1, true),
        ];
        let eye_whites = {
            let mut b = tiny_skia::PathBuilder::new();
            b.push_path(&eyes[0].white());
            b.push_path(&eyes[1].white());
            b.finish().expect("two eyes")
        };
        let clipped = |ops: &mut Vec<Op>, path, paint| {
            ops.push(Op::Draw(Part::Head, Box::new(Draw::Clipped(path, paint))))
        };
        let cy = EYE_CENTRES[0].1;
        clipped(
            &mut ops,
            eye_whites.clone(),
            linear(
                180.0,
                cy - 12.0,
                180.0,
                cy + 8.0,
                &[
                    (0.0, rgb(0xcfc6c0)),
                    (0.45, rgb(0xf8f6f3)),
                    (1.0, rgb(0xeae5e0)),
                ],
            ),
        );
        for (ex, ey) in EYE_CENTRES {
            let ix = ex + 0.5;
            clipped(
                &mut ops,
                ellipse(ix, ey - 0.5, 7.8, 7.8),
                radial(
                    ix,
                    ey - 0.5,
                    7.8,
                    7.8,
                    &[
                        (0.0, tint(p.iris, 0.3)),
                        (0.75, p.iris),
                        (1.0, shade(p.iris, 0.45)),
                    ],
                ),
            );
            clipped(
                &mut ops,
                ellipse(ix, ey - 0.5, 3.7, 3.7),
                solid(rgb(0x121010)),
            );
            clipped(
                &mut ops,
                circles(&[(ix - 2.4, ey - 3.4, 1.9), (ix + 2.6, ey + 1.6, 0.9)]),
                solid(alpha(Color::WHITE, 0.95)),
            );
            // The upper lid casts a shadow on the eyeball.
            clipped(
                &mut ops,
                ellipse(ex, ey - 11.0, 18.0, 5.5),
                solid(alpha(skin_shadow, 0.28)),
            );
        }
        for e in &eyes {
            let (o, i, t, b) = (e.outer, e.inner, e.top, e.bottom);
            let dir = if o.0 < i.0 { 1.0 } else { -1.0 };
            ops.push(line(
                Part::Head,
                Pen::at(o.0 + dir * 5.0, o.1 - 7.5)
                    .curve(
                        t[0].0 + dir * 2.0,
                        t[0].1 - 4.0,
                        t[1].0,
                        t[1].1 - 4.0,
                        i.0 - dir * 5.0,
                        i.1 - 8.0,
                    )
                    .done(),
                solid(alpha(skin_shadow, 0.35)),
                stroke(1.2),
            ));
            ops.push(line(
                Part::Head,
                Pen::at(o.0 + dir * 3.0, o.1 + 1.5)
                    .curve(b[0].0, b[0].1 + 0.8, b[1].0, b[1].1 + 0.8, i.0, i.1 + 0.5)
                    .done(),
                solid(alpha(skin_shadow, 0.35)),
                stroke(1.0),
            ));
        }

        // Brows: tapered strokes, thicker towards the nose.
        let (cx, cy) = EYE_CENTRES[0];
        let t = d.brow;
        let brow = Pen::at(cx - 19.0, cy - 20.5)
            .quad(cx - 8.0, cy - 29.5 - t, cx + 15.0, cy - 26.5 - t * 0.5)
            .line(cx + 15.5, cy - 21.5 + t * 0.5)
            .quad(cx - 6.0, cy - 25.0 + t * 0.5, cx - 19.0, cy - 19.5)
            .close()
            .done();
        add(&mut ops, Part::Head, with_mirror(brow), solid(p.brow));

        ops.push(Op::Lids);
        ops.push(Op::Mouth);

        hair_front(&mut ops, d);
        if d.glasses {
            glasses(&mut ops, p.accent);
        }

        let mouth_colors = MouthColors {
            lip: p.lip,
            skin: p.skin,
        };
        let mouths = Viseme::ALL
            .iter()
            .map(|&v| mouth_art(v, mouth_colors))
            .collect();

        Figure {
            ops,
            eyes,
            eye_whites,
            lid_paint: solid(mix(p.skin, skin_shadow, 0.2)),
            lash_paint: solid(shade(p.brow, 0.35)),
            lash_stroke: stroke(d.lash),
            wing: d.wing,
            mouths,
            rasters: Mutex::new(HashMap::new()),
        }
    }

    /// The pre-rendered layers for a `width` x `height` output, made on first use.
    fn raster(&self, width: u32, height: u32) -> Arc<Raster> {
        let mut cache = self.rasters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = cache.get(&(width, height)) {
            return r.clone();
        }
        let base = placement(width, height);
        let limit = raster::limit(width, height);
        let mut steps = Vec::new();
        let mut run: Vec<&Draw> = Vec::new();
        let mut run_part = Part::Body;
        let flush = |run: &mut Vec<&Draw>, part: Part, steps: &mut Vec<Step>| {
            if !run.is_empty() {
                if let Some(layer) =
                    raster::rasterize(run.iter().copied(), Some(&self.eye_whites), base, limit)
                {
                    steps.push(Step::Layer(part, layer));
                }
                run.clear();
            }
        };
        for op in &self.ops {
            match op {
                Op::Draw(part, draw) => {
                    if *part != run_part {
                        flush(&mut run, run_part, &mut steps);
                        run_part = *part;
                    }
                    run.push(draw);
                }
                Op::Lids => {
                    flush(&mut run, run_part, &mut steps);
                    steps.push(Step::Lids);
                }
                Op::Mouth => {
                    flush(&mut run, run_part, &mut steps);
                    steps.push(Step::Mouth);
                }
            }
        }
        flush(&mut run, run_part, &mut steps);
        let mouths = self
            .mouths
            .iter()
            .map(|m| raster::rasterize(m.steps.iter(), m.opening.as_ref(), base, limit))
            .collect();
        let r = Arc::new(Raster {
            base,
            steps,
            mouths,
        });
        if cache.len() >= SIZES_KEPT {
            cache.clear();
        }
        cache.insert((width, height), r.clone());
        r
    }

    /// Draws the figure for `pose` into a fresh `width` x `height` layer.
    pub(crate) fn render_onto(&self, pose: &Pose, pixmap: &mut PixmapMut<'_>) {
        let (width, height) = (pixmap.width(), pixmap.height());
        let raster = self.raster(width, height);
        let base = raster.base;
        let m = idle(pose.time, pose.motion);
        // Breathing lifts the shoulders: a slight vertical stretch anchored at the bottom edge.
        let rise = 1.0 + 0.012 * m.breath;
        let body = Transform::from_row(1.0, 0.0, 0.0, rise, 0.0, FIGURE_H * (1.0 - rise));
        let lift = (FIGURE_H - HEAD_PIVOT.1) * (rise - 1.0);
        let head = Transform::from_translate(m.sway, m.bob - lift).pre_concat(
            Transform::from_rotate_at(m.tilt_deg, HEAD_PIVOT.0, HEAD_PIVOT.1),
        );
        // The same motions in output pixels, for moving the pre-rendered layers.
        let to_pixels = |t: Transform| match base.invert() {
            Some(inv) => base.pre_concat(t).pre_concat(inv),
            None => Transform::identity(),
        };
        // A still figure composites with exact whole-pixel copies.
        let (head_px, body_px) = if m == Idle::default() {
            (Transform::identity(), Transform::identity())
        } else {
            (to_pixels(head), to_pixels(body))
        };
        let closure = if pose.eye_closure.is_finite() {
            pose.eye_closure.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let shape = Viseme::ALL
            .iter()
            .position(|&v| v == pose.viseme)
            .unwrap_or(8);

        for step in &raster.steps {
            match step {
                Step::Layer(part, layer) => {
                    let motion = if *part == Part::Head {
                        head_px
                    } else {
                        body_px
                    };
                    raster::blit(pixmap, layer, motion);
                }
                Step::Lids => self.draw_lids(pixmap, base.pre_concat(head), closure),
                Step::Mouth => {
                    if let Some(layer) = &raster.mouths[shape] {
                        raster::blit(pixmap, layer, head_px);
                    }
                }
            }
        }
    }

    fn draw_lids(&self, pixmap: &mut PixmapMut<'_>, head: Transform, closure: f32) {
        for eye in &self.eyes {
            if let Some(lid) = eye.lid_cover(closure) {
                pixmap.fill_path(&lid, &self.lid_paint, FillRule::Winding, head, None);
            }
            let mut lash = self.lash_stroke.clone();
            // A shut eye reads as a thinner line than an open one's lashes.
            lash.width *= 1.0 - 0.25 * closure;
            pixmap.stroke_path(
                &eye.lash_line(closure, self.wing),
                &self.lash_paint,
                &lash,
                head,
                None,
            );
        }
    }

    /// Pixels the mouth may touch at rest pose in a `width` x `height` layer.
    pub(crate) fn mouth_region(&self, width: u32, height: u32) -> Option<IntRect> {
        let rect = raster::union(self.mouths.iter().map(|m| m.outline.bounds()))?;
        to_pixels(rect, width, height)
    }

    /// Pixels the eyes and lids may touch at rest pose in a `width` x `height` layer.
    pub(crate) fn eye_region(&self, width: u32, height: u32) -> Option<IntRect> {
        let rect = self.eye_whites.bounds().outset(9.0, 5.0)?;
        to_pixels(rect, width, height)
    }
}

fn to_pixels(rect: Rect, width: u32, height: u32) -> Option<IntRect> {
    let r = rect.transform(placement(width.max(1), height.max(1)))?;
    let r = r.round_out()?;
    r.intersect(&IntRect::from_xywh(0, 0, width.max(1), height.max(1))?)
}

fn hair_back(ops: &mut Vec<Op>, d: &Design) {
    let p = d.palette;
    let paint = linear(
        180.0,
        40.0,
        180.0,
        340.0,
        &[(0.0, p.hair), (1.0, shade(p.hair, 0.35))],
    );
    let path = match d.hair {
        Hair::SidePart => Pen::at(104.0, 166.0)
            .curve(94.0, 102.0, 128.0, 46.0, 184.0, 46.0)
            .curve(240.0, 48.0, 270.0, 104.0, 256.0, 166.0)
            .close()
            .done(),
        // Waves down to the shoulders; the ends tuck behind them.
        Hair::LongWavy => Pen::at(180.0, 42.0)
            .curve(116.0, 42.0, 86.0, 92.0, 90.0, 170.0)
            .curve(92.0, 232.0, 74.0, 282.0, 66.0, 326.0)
            .quad(60.0, 346.0, 76.0, 350.0)
            .quad(88.0, 340.0, 98.0, 350.0)
            .quad(108.0, 338.0, 116.0, 330.0)
            .line(244.0, 330.0)
            .quad(252.0, 338.0, 262.0, 350.0)
            .quad(272.0, 340.0, 284.0, 350.0)
            .quad(300.0, 346.0, 294.0, 326.0)
            .curve(286.0, 282.0, 268.0, 232.0, 270.0, 170.0)
            .curve(274.0, 92.0, 244.0, 42.0, 180.0, 42.0)
            .close()
            .done(),
        Hair::Curly => {
            let mut list = vec![(180.0, 128.0, 80.0)];
            for i in 0..13 {
                let a = (-198.0 + 18.0 * i as f32).to_radians();
                let r = 22.0 + 3.0 * ((i * 5 % 3) as f32);
                list.push((180.0 + 84.0 * a.cos(), 140.0 + 86.0 * a.sin(), r));
            }
            circles(&list)
        }
    };
    ops.push(fill(Part::Head, path, paint));
    if d.hair == Hair::LongWavy {
        // Strands in the back fall, darker, down to the shoulders.
        ops.push(line(
            Part::Head,
            with_mirror(
                Pen::at(96.0, 200.0)
                    .curve(94.0, 250.0, 80.0, 296.0, 76.0, 340.0)
                    .jump(106.0, 230.0)
                    .curve(102.0, 270.0, 96.0, 310.0, 98.0, 344.0)
                    .done(),
            ),
            solid(alpha(shade(p.hair, 0.4), 0.5)),
            stroke(2.0),
        ));
    }
}

fn hair_front(ops: &mut Vec<Op>, d: &Design) {
    let p = d.palette;
    let paint = linear(
        180.0,
        50.0,
        180.0,
        180.0,
        &[
            (0.0, tint(p.hair, 0.08)),
            (0.6, p.hair),
            (1.0, shade(p.hair, 0.2)),
        ],
    );
    let shine = solid(alpha(p.hair_light, 0.55));
    let dark = solid(alpha(shade(p.hair, 0.45), 0.55));
    match d.hair {
        Hair::SidePart => {
            // Cap, from the left sideburn over the crown to the right one, then back along
            // the hairline with the fringe swept away from the parting.
            let cap = Pen::at(107.0, 186.0)
                .line(104.0, 160.0)
                .curve(97.0, 96.0, 134.0, 50.0, 186.0, 50.0)
                .curve(238.0, 52.0, 267.0, 98.0, 256.0, 160.0)
                .line(253.0, 186.0)
                .line(247.0, 184.0)
                .curve(248.0, 142.0, 243.0, 122.0, 230.0, 110.0)
                .curve(210.0, 118.0, 174.0, 114.0, 146.0, 97.0)
                .curve(128.0, 106.0, 114.0, 130.0, 113.0, 184.0)
                .close()
                .done();
            ops.push(fill(Part::Head, cap, paint));
            ops.push(line(
                Part::Head,
                Pen::at(148.0, 95.0).quad(150.0, 72.0, 164.0, 54.0).done(),
                dark.clone(),
                stroke(1.6),
            ));
            ops.push(line(
                Part::Head,
                Pen::at(160.0, 74.0)
                    .quad(205.0, 62.0, 240.0, 96.0)
                    .jump(156.0, 90.0)
                    .quad(200.0, 84.0, 232.0, 108.0)
                    .jump(170.0, 62.0)
                    .quad(210.0, 56.0, 236.0, 76.0)
                    .done(),
                shine,
                stroke(2.2),
            ));
        }
        Hair::LongWavy => {
            let hair = Pen::at(104.0, 178.0)
                .curve(95.0, 96.0, 132.0, 48.0, 182.0, 48.0)
                .curve(234.0, 48.0, 267.0, 96.0, 258.0, 178.0)
                .curve(260.0, 216.0, 266.0, 252.0, 280.0, 280.0)
                .curve(260.0, 272.0, 248.0, 244.0, 246.0, 208.0)
                .curve(244.0, 170.0, 241.0, 142.0, 230.0, 122.0)
                .curve(210.0, 114.0, 160.0, 116.0, 124.0, 142.0)
                .curve(119.0, 160.0, 117.0, 182.0, 117.0, 204.0)
                .curve(116.0, 238.0, 104.0, 262.0, 84.0, 280.0)
                .curve(98.0, 252.0, 101.0, 216.0, 104.0, 178.0)
                .close()
                .done();
            ops.push(fill(Part::Head, hair, paint));
            ops.push(line(
                Part::Head,
                Pen::at(226.0, 122.0)
                    .quad(190.0, 112.0, 140.0, 128.0)
                    .jump(220.0, 104.0)
                    .quad(170.0, 96.0, 130.0, 124.0)
                    .done(),
                dark,
                stroke(1.6),
            ));
            ops.push(line(
                Part::Head,
                Pen::at(132.0, 84.0)
                    .quad(172.0, 58.0, 222.0, 68.0)
                    .jump(146.0, 96.0)
                    .quad(186.0, 78.0, 230.0, 90.0)
                    .jump(254.0, 186.0)
                    .quad(256.0, 236.0, 270.0, 268.0)
                    .jump(110.0, 196.0)
                    .quad(108.0, 236.0, 96.0, 264.0)
                    .done(),
                shine,
                stroke(2.4),
            ));
        }
        Hair::Curly => {
            // A cap whose lower edge is a row of curls along the hairline.
            let mut pen = Pen::at(104.0, 166.0)
                .curve(98.0, 90.0, 134.0, 54.0, 180.0, 54.0)
                .curve(226.0, 54.0, 262.0, 90.0, 256.0, 166.0);
            let hairline = |x: f32| 108.0 + ((x - 180.0) / 74.0).powi(2) * 52.0;
            let n = 10;
            for i in 0..n {
                let x0 = 252.0 - 144.0 * i as f32 / n as f32;
                let x1 = 252.0 - 144.0 * (i + 1) as f32 / n as f32;
                let xm = (x0 + x1) * 0.5;
                pen = pen.quad(xm, hairline(xm) + 8.0, x1, hairline(x1));
            }
            ops.push(fill(Part::Head, pen.close().done(), paint));
            // Curl texture: small arcs scattered over the hair, placed by a fixed pattern.
            let mut curls_light = Pen::at(0.0, 0.0);
            let mut curls_dark = Pen::at(0.0, 0.0);
            for i in 0..34 {
                let a = (-200.0 + 220.0 * ((i * 7 % 34) as f32 / 33.0)).to_radians();
                let r = 34.0 + 60.0 * ((i * 13 % 17) as f32 / 16.0);
                let (x, y) = (180.0 + r * a.cos(), 132.0 + r * 0.95 * a.sin());
                if y > hairline(x) - 4.0 && r < 78.0 {
                    continue;
                }
                let pen = if i % 2 == 0 {
                    &mut curls_light
                } else {
                    &mut curls_dark
                };
                let taken = std::mem::replace(pen, Pen::at(0.0, 0.0));
                *pen = taken
                    .jump(x - 4.0, y + 1.0)
                    .quad(x, y - 5.0, x + 4.0, y + 1.0);
            }
            ops.push(line(
                Part::Head,
                curls_light.done(),
                solid(alpha(p.hair_light, 0.7)),
                stroke(1.8),
            ));
            ops.push(line(
                Part::Head,
                curls_dark.done(),
                solid(alpha(shade(p.hair, 0.5), 0.8)),
                stroke(1.8),
            ));
        }
    }
}

fn clothing(ops: &mut Vec<Op>, d: &Design) {
    let p = d.palette;
    let torso = torso_path(d.shoulders, d.outfit);
    let sx = |v: f32| 180.0 + (v - 180.0) * d.shoulders;
    ops.push(fill(
        Part::Body,
        torso.clone(),
        linear(
            180.0,
            292.0,
            180.0,
            400.0,
            &[(0.0, tint(p.clothing, 0.1)), (1.0, shade(p.clothing, 0.12))],
        ),
    ));
    // Roundness: the sides of the body turn away from the light.
    ops.push(fill(
        Part::Body,
        torso,
        radial(
            180.0,
            330.0,
            200.0 * d.shoulders,
            130.0,
            &[
                (0.0, alpha(p.clothing, 0.0)),
                (0.6, alpha(p.clothing, 0.0)),
                (1.0, alpha(shade(p.clothing, 0.6), 0.5)),
            ],
        ),
    ));
    let seam = solid(alpha(shade(p.clothing, 0.5), 0.45));
    // Sleeve seams mark where the arms meet the shoulders.
    ops.push(line(
        Part::Body,
        with_mirror(
            Pen::at(sx(62.0), 318.0)
                .curve(sx(52.0), 344.0, sx(52.0), 380.0, sx(56.0), 404.0)
                .done(),
        ),
        seam.clone(),
        stroke(1.6),
    ));
    let outline = |c: Color| solid(alpha(shade(c, 0.45), 0.6));
    match d.outfit {
        Outfit::Blazer => {
            ops.push(fill(
                Part::Body,
                Pen::at(146.0, 288.0)
                    .line(214.0, 288.0)
                    .line(180.0, 392.0)
                    .close()
                    .done(),
                linear(
                    180.0,
                    290.0,
                    180.0,
                    390.0,
                    &[
                        (0.0, shade(p.shirt, 0.12)),
                        (0.3, p.shirt),
                        (1.0, shade(p.shirt, 0.06)),
                    ],
                ),
            ));
            // Tie: knot, then the blade.
            let tie = p.accent;
            ops.push(fill(
                Part::Body,
                Pen::at(174.5, 331.0)
                    .line(185.5, 331.0)
                    .line(195.0, 430.0)
                    .line(165.0, 430.0)
                    .close()
                    .done(),
                linear(
                    170.0,
                    330.0,
                    190.0,
                    400.0,
                    &[(0.0, tint(tie, 0.1)), (1.0, shade(tie, 0.2))],
                ),
            ));
            ops.push(fill(
                Part::Body,
                Pen::at(171.0, 316.0)
                    .line(189.0, 316.0)
                    .line(186.0, 332.0)
                    .line(174.0, 332.0)
                    .close()
                    .done(),
                solid(shade(tie, 0.12)),
            ));
            // Shirt collar points.
            let collar = with_mirror(
                Pen::at(148.0, 284.0)
                    .line(177.0, 318.0)
                    .line(164.0, 334.0)
                    .line(140.0, 300.0)
                    .close()
                    .done(),
            );
            ops.push(fill(Part::Body, collar.clone(), solid(tint(p.shirt, 0.3))));
            ops.push(line(Part::Body, collar, outline(p.shirt), stroke(1.0)));
            // Lapels.
            let lapel = with_mirror(
                Pen::at(142.0, 294.0)
                    .line(180.0, 396.0)
                    .line(163.0, 376.0)
                    .line(124.0, 334.0)
                    .line(136.0, 322.0)
                    .line(126.0, 308.0)
                    .close()
                    .done(),
            );
            ops.push(fill(
                Part::Body,
                lapel.clone(),
                linear(
                    140.0,
                    300.0,
                    170.0,
                    390.0,
                    &[(0.0, tint(p.clothing, 0.08)), (1.0, shade(p.clothing, 0.2))],
                ),
            ));
            ops.push(line(Part::Body, lapel, seam, stroke(1.2)));
            // Breast pocket on the wearer's left.
            ops.push(line(
                Part::Body,
                Pen::at(sx(232.0), 352.0).line(sx(268.0), 348.0).done(),
                solid(alpha(shade(p.clothing, 0.5), 0.5)),
                stroke(1.6),
            ));
        }
        Outfit::Blouse => {
            let neckline = Pen::at(146.0, 292.0)
                .curve(156.0, 330.0, 204.0, 330.0, 214.0, 292.0)
                .done();
            ops.push(line(
                Part::Body,
                neckline,
                solid(shade(p.clothing, 0.25)),
                stroke(3.0),
            ));
            // Soft folds.
            ops.push(line(
                Part::Body,
                with_mirror(
                    Pen::at(150.0, 340.0)
                        .quad(142.0, 370.0, 146.0, 402.0)
                        .done(),
                ),
                solid(alpha(shade(p.clothing, 0.4), 0.35)),
                stroke(2.0),
            ));
            // Pendant on a fine chain.
            ops.push(line(
                Part::Body,
                Pen::at(154.0, 296.0)
                    .quad(180.0, 338.0, 206.0, 296.0)
                    .done(),
                solid(p.accent),
                stroke(1.3),
            ));
            ops.push(fill(
                Part::Body,
                Pen::at(180.0, 314.0)
                    .line(184.5, 320.0)
                    .line(180.0, 327.0)
                    .line(175.5, 320.0)
                    .close()
                    .done(),
                linear(
                    176.0,
                    314.0,
                    184.0,
                    327.0,
                    &[(0.0, tint(p.accent, 0.5)), (1.0, shade(p.accent, 0.25))],
                ),
            ));
        }
        Outfit::Sweater => {
            // The shirt's collar band shows above the crew neck.
            ops.push(fill(
                Part::Body,
                Pen::at(150.0, 278.0)
                    .quad(180.0, 298.0, 210.0, 278.0)
                    .line(216.0, 296.0)
                    .quad(180.0, 330.0, 144.0, 296.0)
                    .close()
                    .done(),
                solid(shade(p.shirt, 0.08)),
            ));
            ops.push(line(
                Part::Body,
                Pen::at(146.0, 292.0)
                    .quad(180.0, 324.0, 214.0, 292.0)
                    .done(),
                solid(shade(p.clothing, 0.18)),
                stroke(8.0),
            ));
            ops.push(line(
                Part::Body,
                Pen::at(146.0, 297.0)
                    .quad(180.0, 330.0, 214.0, 297.0)
                    .done(),
                solid(alpha(shade(p.clothing, 0.45), 0.6)),
                stroke(1.0),
            ));
            let collar = with_mirror(
                Pen::at(151.0, 284.0)
                    .line(177.0, 304.0)
                    .line(168.0, 320.0)
                    .line(146.0, 298.0)
                    .close()
                    .done(),
            );
            ops.push(fill(Part::Body, collar.clone(), solid(p.shirt)));
            ops.push(line(Part::Body, collar, outline(p.shirt), stroke(1.0)));
            // Knit ribs at the hem of the view.
            let mut ribs = Pen::at(sx(30.0), 386.0);
            let mut x = sx(30.0);
            while x < sx(330.0) {
                ribs = ribs.jump(x, 388.0).line(x, 400.0);
                x += 7.0;
            }
            ops.push(line(
                Part::Body,
                ribs.done(),
                solid(alpha(shade(p.clothing, 0.4), 0.35)),
                stroke(1.2),
            ));
        }
    }
}

fn glasses(ops: &mut Vec<Op>, frame: Color) {
    let lens = |cx: f32, cy: f32| {
        let (hw, hh, r) = (20.0, 14.5, 8.0);
        Pen::at(cx - hw + r, cy - hh)
            .line(cx + hw - r, cy - hh)
            .quad(cx + hw, cy - hh, cx + hw, cy - hh + r)
            .line(cx + hw - 1.0, cy + hh - r)
            .quad(cx + hw - 1.5, cy + hh, cx + hw - r, cy + hh)
            .line(cx - hw + r, cy + hh)
            .quad(cx - hw + 1.5, cy + hh, cx - hw + 1.0, cy + hh - r)
            .line(cx - hw, cy - hh + r)
            .quad(cx - hw, cy - hh, cx - hw + r, cy - hh)
            .close()
            .done()
    };
    let (cx, cy) = EYE_CENTRES[0];
    let left = lens(cx, cy + 1.0);
    let right = mirror(&left);
    let mut both = tiny_skia::PathBuilder::new();
    both.push_path(&left);
    both.push_path(&right);
    let both = both.finish().expect("two lenses");
    ops.push(fill(
        Part::Head,
        both.clone(),
        solid(alpha(Color::WHITE, 0.08)),
    ));
    // Glare across the lenses.
    ops.push(line(
        Part::Head,
        with_mirror(Pen::at(cx + 4.0, cy - 9.0).line(cx + 12.0, cy + 2.0).done()),
        solid(alpha(Color::WHITE, 0.14)),
        stroke(2.5),
    ));
    let paint = solid(frame);
    ops.push(line(Part::Head, both, paint.clone(), stroke(2.4)));
    ops.push(line(
        Part::Head,
        Pen::at(168.0, 166.0)
            .quad(180.0, 159.0, 192.0, 166.0)
            .jump(128.0, 164.0)
            .line(108.0, 168.0)
            .jump(232.0, 164.0)
            .line(252.0, 168.0)
            .done(),
        paint,
        stroke(2.8),
    ));
}

/// The three built-in presenters.
pub(crate) fn design(name: &str) -> Option<Design> {
    Some(match name {
        "avatar_1" => Design {
            palette: Palette {
                skin: rgb(0xeec4a2),
                lip: rgb(0xc47a72),
                hair: rgb(0x3a281e),
                hair_light: rgb(0x7a5842),
                iris: rgb(0x6a4428),
                brow: rgb(0x3a281e),
                clothing: rgb(0x283a5c),
                shirt: rgb(0xf3f5f8),
                accent: rgb(0xa8363f),
            },
            hair: Hair::SidePart,
            outfit: Outfit::Blazer,
            face_half_w: 74.0,
            neck_half_w: 29.0,
            shoulders: 1.0,
            lash: 2.0,
            wing: false,
            brow: 1.4,
            glasses: false,
        },
        "avatar_2" => Design {
            palette: Palette {
                skin: rgb(0xcf9570),
                lip: rgb(0xb4555a),
                hair: rgb(0x74301f),
                hair_light: rgb(0xb8623f),
                iris: rgb(0x55703c),
                brow: rgb(0x4e2418),
                clothing: rgb(0x1f7f7c),
                shirt: rgb(0xffffff),
                accent: rgb(0xe2b85e),
            },
            hair: Hair::LongWavy,
            outfit: Outfit::Blouse,
            face_half_w: 70.0,
            neck_half_w: 25.0,
            shoulders: 0.9,
            lash: 2.6,
            wing: true,
            brow: 0.6,
            glasses: false,
        },
        "avatar_3" => Design {
            palette: Palette {
                skin: rgb(0x8a5436),
                lip: rgb(0x6a3332),
                hair: rgb(0x211815),
                hair_light: rgb(0x54433a),
                iris: rgb(0x3a2416),
                brow: rgb(0x1d1512),
                clothing: rgb(0xd29a30),
                shirt: rgb(0xdce8f4),
                accent: rgb(0x2a2a30),
            },
            hair: Hair::Curly,
            outfit: Outfit::Sweater,
            face_half_w: 76.0,
            neck_half_w: 31.0,
            shoulders: 1.04,
            lash: 2.0,
            wing: false,
            brow: 1.6,
            glasses: true,
        },
        _ => return None,
    })
}
