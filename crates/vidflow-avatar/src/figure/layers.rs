//! A figure pre-rendered for one output size, kept per size: each run of shapes that
//! moves together becomes one layer.

use std::sync::Arc;

use tiny_skia::Transform;

use super::Figure;
use super::geometry::placement;
use super::steps::{Op, Part};
use crate::draw::Draw;
use crate::raster::{self, Layer};

/// How many output sizes keep their layers before the cache starts over.
const SIZES_KEPT: usize = 8;

/// One step of compositing a frame.
pub(super) enum Step {
    /// A pre-rendered run of shapes that moves with the part.
    Layer(Part, Layer),
    /// The eyelids, drawn as vectors for the pose's closure.
    Lids,
    /// The pose's mouth, from [`Raster::mouths`].
    Mouth,
}

/// A figure pre-rendered for one output size.
pub(super) struct Raster {
    /// Figure units to output pixels at rest.
    pub(super) base: Transform,
    pub(super) steps: Vec<Step>,
    /// The nine mouths in [`Viseme::ALL`] order.
    pub(super) mouths: Vec<Option<Layer>>,
}

impl Figure {
    /// The pre-rendered layers for a `width` x `height` output, made on first use.
    pub(super) fn raster(&self, width: u32, height: u32) -> Arc<Raster> {
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
}
