//! Haircuts: the back of the hair (behind the head) and the front (over the forehead).

use super::design::{Design, Hair};
use super::steps::{Op, Part, fill, line, stroke};
use crate::draw::{Pen, alpha, circles, linear, shade, solid, tint, with_mirror};

/// The hair behind the head and shoulders.
pub(super) fn hair_back(ops: &mut Vec<Op>, d: &Design) {
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

/// The hair over the forehead and around the face.
pub(super) fn hair_front(ops: &mut Vec<Op>, d: &Design) {
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
