//! Outfits: the torso with its neckline, and the garments over it.

use tiny_skia::{Color, Path};

use super::design::{Design, Outfit};
use super::steps::{Op, Part, fill, line, stroke};
use crate::draw::{Pen, alpha, linear, radial, shade, solid, tint, with_mirror};

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

/// The outfit of `d`, over the torso.
pub(super) fn clothing(ops: &mut Vec<Op>, d: &Design) {
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
