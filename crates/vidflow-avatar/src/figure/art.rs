//! A design turned into drawing steps, back to front: the back of the hair, neck,
//! clothing, ears, face, cheeks, nose, eyes, brows, the per-frame lids and mouth, the
//! front of the hair and glasses.

use std::collections::HashMap;
use std::sync::Mutex;

use tiny_skia::{Color, Path};
use vidflow_core::Viseme;

use super::clothing::clothing;
use super::eyes::EyeCurves;
use super::geometry::EYE_CENTRES;
use super::glasses::glasses;
use super::hair::{hair_back, hair_front};
use super::steps::{Op, Part, fill, line, stroke};
use super::{Design, Figure};
use crate::draw::{
    Draw, Pen, alpha, circles, ellipse, linear, mix, radial, rgb, shade, solid, tint, with_mirror,
};
use crate::mouth::{MouthColors, mouth_art};

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
}
