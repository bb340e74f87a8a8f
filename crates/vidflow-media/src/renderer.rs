//! [`FrameRenderer`]: frame `n` of a Timeline, as RGBA or as yuv420p.
//!
//! A frame is layered: the slide's static layer (cached per slide), the Ken Burns window
//! on the slide's image, the presenter, and the subtitle cue (cached per cue). Outside
//! crossfades, [`FrameRenderer::render_i420`] starts from the static layer already
//! converted to yuv420p and recomposes and converts only the rectangles that change,
//! which is most of why composition costs little next to encoding.

use std::cell::{OnceCell, RefCell};
use std::sync::{Arc, Mutex, OnceLock};

use tiny_skia::Pixmap;
use vidflow_avatar::{Avatar, Pose};
use vidflow_core::{MotionSeed, Slide, SlideLayout, Timeline, VideoSize, Viseme};

use crate::MediaError;
use crate::paint::{self, PxRect, Region};
use crate::picture::{self, Picture};
use crate::slide::{self, SlideContext};
use crate::theme::{Geometry, Palette};
use crate::yuv::{self, I420Frame, I420Patched, I420Source};

/// Length of the crossfade into each slide, seconds.
pub const CROSSFADE_SECONDS: f64 = 0.3;

/// Slides whose static layers are kept at once. Frames are rendered roughly in order, so
/// a few suffice, and the bound keeps memory flat however many slides a video has
/// (a 1080p layer with its yuv420p copy is about 11 MiB).
const SLIDE_CACHE: usize = 3;
/// Subtitle cue layers kept at once.
const CUE_CACHE: usize = 16;

/// A layer built at most once, shared by every frame that shows it.
type LayerCell<T> = Arc<OnceLock<Arc<T>>>;

/// A small, bounded, thread-safe cache of layers built once per key.
///
/// The lock only guards the index; building happens outside it in a `OnceLock`, so two
/// threads wanting the same layer build it once, and threads wanting different layers
/// build them in parallel.
struct LayerCache<T> {
    capacity: usize,
    entries: Mutex<Vec<(usize, LayerCell<T>)>>,
}

impl<T> LayerCache<T> {
    fn new(capacity: usize) -> Self {
        LayerCache {
            capacity,
            entries: Mutex::new(Vec::new()),
        }
    }

    fn get(&self, key: usize, build: impl FnOnce() -> T) -> Arc<T> {
        let cell = {
            // A panic while holding this lock cannot leave the Vec inconsistent, so a
            // poisoned lock is still safe to use.
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            match entries.iter().position(|(k, _)| *k == key) {
                Some(i) => {
                    // Most recently used goes last; eviction takes the front.
                    let e = entries.remove(i);
                    let cell = e.1.clone();
                    entries.push(e);
                    cell
                }
                None => {
                    let cell = Arc::new(OnceLock::new());
                    entries.push((key, cell.clone()));
                    if entries.len() > self.capacity {
                        entries.remove(0);
                    }
                    cell
                }
            }
        };
        cell.get_or_init(|| Arc::new(build())).clone()
    }
}

/// A slide's static layer, as RGBA and already converted to yuv420p.
struct SlideLayer {
    rgba: Vec<u8>,
    /// Shared with the frames sent to the encoder, which read their unchanged bytes here.
    i420: Arc<I420Frame>,
}

/// A rendered yuv420p frame: whole (during crossfades, when everything moves), or as the
/// rectangles that differ from its slide's static layer, which it shares.
#[derive(Debug, Clone)]
pub enum I420Output {
    /// A frame of its own.
    Whole(I420Frame),
    /// The slide's static layer with some rectangles replaced.
    Patched(I420Patched),
}

impl I420Output {
    /// The frame's bytes in one buffer (a copy for patched frames).
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            I420Output::Whole(f) => f.data,
            I420Output::Patched(p) => p.to_bytes(),
        }
    }

    /// Bytes this frame holds of its own (what it costs in memory while in flight).
    pub fn own_bytes(&self) -> usize {
        match self {
            I420Output::Whole(f) => f.data.len(),
            I420Output::Patched(p) => {
                p.patch.len() + p.runs.len() * std::mem::size_of::<crate::yuv::I420Run>()
            }
        }
    }
}

/// A subtitle cue's layer (premultiplied RGBA) and where it goes.
struct CueLayer {
    rect: PxRect,
    rgba: Vec<u8>,
}

/// What one frame shows.
struct FramePlan {
    time: f64,
    slide: usize,
    /// Crossfading from this slide, with the new slide's weight (0–255).
    fade_from: Option<(usize, u8)>,
    cue: Option<usize>,
    /// The presenter layer, drawn at most once per frame and only if needed.
    avatar: OnceCell<Pixmap>,
}

thread_local! {
    /// Scratch for a region being composed (per thread: frames render in parallel).
    static REGION: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Scratch for the incoming slide during a crossfade.
    static FADE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Scratch for the resampled Ken Burns window.
    static PANEL: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Scratch for the presenter drawn over its background.
    static PRESENTER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The presenter and where it stands.
struct Presenter {
    avatar: Avatar,
    /// Where it is drawn: as large as the card allows, standing on its bottom edge.
    rect: PxRect,
    /// Where its mouth moves, in frame coordinates.
    mouth: (u32, u32, u32, u32),
}

/// Composes the frames of one Timeline, with a presenter or without.
///
/// `FrameRenderer` is `Send + Sync`: share it (e.g. in an `Arc`) and call
/// [`render_rgba`](Self::render_rgba) or [`render_i420`](Self::render_i420) from as
/// many threads as you like, in any order; frame `n` is always the same bytes.
pub struct FrameRenderer {
    timeline: Arc<Timeline>,
    /// `None`: slides and subtitles only (the card stays empty).
    presenter: Option<Presenter>,
    size: VideoSize,
    geometry: Geometry,
    palette: Palette,
    /// The slides as drawn: a slide whose image failed to decode becomes a text slide.
    slides: Vec<Slide>,
    /// Decoded pictures, by index into `timeline.images` (`None`: unusable bytes).
    pictures: Vec<Option<Arc<Picture>>>,
    panel: PxRect,
    panel_mask: Vec<u8>,
    /// Rows at the top and bottom of the panel's mask that are not fully opaque (its
    /// rounded corners), when every row between them is: then a picture is drawn
    /// straight into the frame and only those rows are blended.
    panel_edges: Option<(u32, u32)>,
    card: PxRect,
    card_mask: Vec<u8>,
    slide_layers: LayerCache<SlideLayer>,
    cue_layers: LayerCache<Option<CueLayer>>,
    /// A subtitle's rectangle composed over its slide's static layer and converted, by
    /// (slide, cue): while it shows, nothing under it moves, so frames copy these bytes.
    cue_blocks: LayerCache<Vec<u8>>,
}

impl std::fmt::Debug for FrameRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameRenderer")
            .field("size", &self.size)
            .field("frames", &self.timeline.frame_count)
            .field("slides", &self.slides.len())
            .finish_non_exhaustive()
    }
}

impl FrameRenderer {
    /// Prepares to render `timeline` with `avatar` presenting, or with no presenter
    /// (`None`: slides and subtitles only, the card left empty): checks the frame size,
    /// decodes the slides' images once, and measures where the presenter's mouth is.
    ///
    /// An image whose bytes do not decode is skipped (its slides fall back to the text
    /// layout); it never fails the video.
    pub fn new(
        timeline: Arc<Timeline>,
        avatar: Option<Avatar>,
    ) -> Result<FrameRenderer, MediaError> {
        let size = timeline.size;
        if size.width == 0
            || size.height == 0
            || !size.width.is_multiple_of(2)
            || !size.height.is_multiple_of(2)
        {
            return Err(MediaError::BadSize(size));
        }
        if size.width > 8192 || size.height > 8192 {
            return Err(MediaError::BadSize(size));
        }
        if timeline.fps == 0 {
            return Err(MediaError::BadTimeline("fps is 0".into()));
        }
        let geometry = Geometry::new(size);
        let palette = Palette::new(timeline.accent);
        let panel = PxRect::from_f32(geometry.ti_image);
        let card = PxRect::from_f32(geometry.card);

        // Decode only the images some slide shows, each once.
        let backdrop = {
            let c = palette.bg_top.mix(palette.accent, 0.15);
            [c.0, c.1, c.2]
        };
        let mut pictures: Vec<Option<Arc<Picture>>> = vec![None; timeline.images.len()];
        for s in &timeline.slides {
            if let Some(i) = s.image
                && i < timeline.images.len()
                && pictures[i].is_none()
            {
                pictures[i] =
                    picture::decode(&timeline.images[i].bytes, (panel.w, panel.h), backdrop)
                        .map(Arc::new);
            }
        }
        let mut slides: Vec<Slide> = timeline.slides.clone();
        for s in &mut slides {
            let usable = s
                .image
                .and_then(|i| pictures.get(i))
                .is_some_and(Option::is_some);
            if s.layout == SlideLayout::TextImage && !usable {
                s.layout = SlideLayout::Text;
            }
            if s.layout != SlideLayout::TextImage {
                s.image = None;
            }
        }
        if slides.is_empty() {
            // Nothing to show but the title: one title card for the whole video.
            slides.push(Slide {
                start: 0.0,
                end: timeline.duration.max(0.0),
                index: 0,
                heading: None,
                body: String::new(),
                image: None,
                layout: SlideLayout::Title,
            });
        }

        let presenter = avatar.map(|avatar| {
            let rect = presenter_rect(&avatar, card);
            let mouth = locate_mouth(&avatar, rect, card, timeline.motion);
            Presenter {
                avatar,
                rect,
                mouth,
            }
        });

        let panel_mask = paint::rounded_mask(panel.w, panel.h, geometry.panel_radius);
        Ok(FrameRenderer {
            panel_edges: opaque_between_edges(&panel_mask, panel.w, panel.h),
            panel_mask,
            card_mask: paint::rounded_mask(card.w, card.h, geometry.card_radius),
            timeline,
            presenter,
            size,
            geometry,
            palette,
            slides,
            pictures,
            panel,
            card,
            slide_layers: LayerCache::new(SLIDE_CACHE),
            cue_layers: LayerCache::new(CUE_CACHE),
            cue_blocks: LayerCache::new(CUE_CACHE),
        })
    }

    /// The frame size.
    pub fn size(&self) -> VideoSize {
        self.size
    }

    /// Number of frames in the video.
    pub fn frame_count(&self) -> u64 {
        self.timeline.frame_count
    }

    /// The Timeline being rendered.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The rectangle (x, y, w, h) of the frame in which the presenter's mouth moves,
    /// found by drawing the presenter at rest (X) and wide open (D) and comparing; widened
    /// by the reach of idle motion when the Timeline has any. `None` without a presenter.
    pub fn mouth_region(&self) -> Option<(u32, u32, u32, u32)> {
        self.presenter.as_ref().map(|p| p.mouth)
    }

    /// Where the presenter is drawn (x, y, w, h); `None` without a presenter.
    pub fn presenter_region(&self) -> Option<(u32, u32, u32, u32)> {
        self.presenter.as_ref().map(|p| {
            let r = p.rect;
            (r.x, r.y, r.w, r.h)
        })
    }

    /// Where subtitles may appear (x, y, w, h): the band they are centred in.
    pub fn subtitle_region(&self) -> (u32, u32, u32, u32) {
        let r = PxRect::from_f32(self.geometry.subs);
        (r.x, r.y, r.w, r.h)
    }

    /// Renders frame `n` as opaque RGBA into `out` (`width * height * 4` bytes).
    ///
    /// Frames past the end show the last moment.
    ///
    /// # Panics
    /// If `out` has the wrong length.
    pub fn render_rgba(&self, n: u64, out: &mut [u8]) {
        let (w, h) = (self.size.width, self.size.height);
        assert_eq!(
            out.len(),
            (w * h * 4) as usize,
            "render_rgba: output buffer must be width*height*4 bytes"
        );
        let plan = self.plan(n);
        let mut region = Region {
            buf: out,
            rect: PxRect::new(0, 0, w, h),
        };
        self.compose(&plan, &mut region);
    }

    /// Renders frame `n` as yuv420p (BT.709, limited range) into `out`, resizing it if
    /// needed. Byte-identical to converting [`render_rgba`](Self::render_rgba)'s output.
    pub fn render_i420(&self, n: u64, out: &mut I420Frame) {
        match self.render_i420_shared(n) {
            I420Output::Whole(f) => *out = f,
            I420Output::Patched(p) => {
                out.width = p.base.width;
                out.height = p.base.height;
                out.data.clear();
                for r in &p.runs {
                    let src = match r.source {
                        I420Source::Base => &p.base.data,
                        I420Source::Patch => &p.patch,
                    };
                    out.data.extend_from_slice(&src[r.start..r.start + r.len]);
                }
            }
        }
    }

    /// Renders frame `n` as yuv420p without copying what it shares with its slide's
    /// static layer: outside crossfades only the rectangles that change (presenter, Ken
    /// Burns image, subtitle) are composed, converted and held by the frame. Same bytes as
    /// [`render_i420`](Self::render_i420).
    pub fn render_i420_shared(&self, n: u64) -> I420Output {
        let (w, h) = (self.size.width, self.size.height);
        let plan = self.plan(n);
        if plan.fade_from.is_some() {
            // Everything moves during a crossfade: compose and convert the whole frame.
            let mut out = I420Frame::new(self.size);
            REGION.with(|cell| {
                let mut buf = cell.borrow_mut();
                buf.resize((w * h * 4) as usize, 0);
                let mut region = Region {
                    buf: &mut buf,
                    rect: PxRect::new(0, 0, w, h),
                };
                self.compose(&plan, &mut region);
                out.convert_from_rgba(&buf, w, h);
            });
            return I420Output::Whole(out);
        }
        let layer = self.slide_layer(plan.slide);
        let rects = disjoint(self.dirty_rects(&plan));
        // The subtitle's rectangle, if no other changing rectangle touches it: then it
        // holds only the static layer and the cue, the same in every frame of the cue.
        let still_cue = plan.cue.and_then(|c| {
            let rect = self.cue_layer(c).as_ref().as_ref()?.rect.even_outward(w, h);
            rects.contains(&rect).then_some((c, rect))
        });
        let len: usize = rects.iter().map(|r| yuv::i420_len(r.w, r.h)).sum();
        let mut patch = vec![0u8; len];
        let mut at = 0;
        for &rect in &rects {
            let block = &mut patch[at..at + yuv::i420_len(rect.w, rect.h)];
            match still_cue {
                Some((c, r)) if r == rect => {
                    let key = plan.slide * self.timeline.cues.len() + c;
                    let cached = self.cue_blocks.get(key, || {
                        let mut bytes = vec![0u8; block.len()];
                        self.compose_block(&plan, rect, &mut bytes);
                        bytes
                    });
                    block.copy_from_slice(&cached);
                }
                _ => self.compose_block(&plan, rect, block),
            }
            at += block.len();
        }
        I420Output::Patched(I420Patched::new(layer.i420.clone(), &rects, patch))
    }

    /// Composes `rect` of a frame and writes it to `out` as a yuv420p block (Y, then U, V).
    fn compose_block(&self, plan: &FramePlan, rect: PxRect, out: &mut [u8]) {
        REGION.with(|cell| {
            let mut buf = cell.borrow_mut();
            buf.resize((rect.w * rect.h * 4) as usize, 0);
            let mut region = Region {
                buf: &mut buf,
                rect,
            };
            self.compose(plan, &mut region);
            yuv::convert_block(&buf, rect.w, rect.h, out);
        });
    }

    /// The rectangles that differ from the slide's static layer in a frame that is not
    /// crossfading, grown to even coordinates for yuv420p.
    fn dirty_rects(&self, plan: &FramePlan) -> Vec<PxRect> {
        let (w, h) = (self.size.width, self.size.height);
        let mut rects: Vec<PxRect> = self
            .presenter
            .iter()
            .map(|p| p.rect.even_outward(w, h))
            .collect();
        if self.slides[plan.slide].image.is_some() {
            rects.push(self.panel.even_outward(w, h));
        }
        if let Some(c) = plan.cue
            && let Some(cue) = self.cue_layer(c).as_ref()
        {
            rects.push(cue.rect.even_outward(w, h));
        }
        rects.retain(|r| !r.is_empty());
        rects
    }

    fn plan(&self, n: u64) -> FramePlan {
        let tl = &self.timeline;
        // Past the end, hold the last frame's moment rather than showing nothing.
        let last = tl.frame_count.saturating_sub(1);
        let time = tl.frame_time(n.min(last));
        let slide = self
            .slides
            .partition_point(|s| s.end <= time)
            .min(self.slides.len() - 1);
        let fade_from = if slide > 0 {
            let since = time - self.slides[slide].start;
            (0.0..CROSSFADE_SECONDS).contains(&since).then(|| {
                let alpha = (since / CROSSFADE_SECONDS * 255.0).round() as u32;
                (slide - 1, alpha.min(255) as u8)
            })
        } else {
            None
        };
        let cue = if tl.burn_subtitles {
            let i = tl.cues.partition_point(|c| c.end <= time);
            tl.cues.get(i).filter(|c| c.start <= time).map(|_| i)
        } else {
            None
        };
        FramePlan {
            time,
            slide,
            fade_from,
            cue,
            avatar: OnceCell::new(),
        }
    }

    /// Composes every layer of `plan` that touches `region`.
    fn compose(&self, plan: &FramePlan, region: &mut Region<'_>) {
        match plan.fade_from {
            Some((from, alpha)) => {
                // Outside the Ken Burns panel both slides are their static layers: blend
                // those straight into the region rather than copying each out first.
                let (old, new) = (self.slide_layer(from), self.slide_layer(plan.slide));
                region.crossfade_frames(&old.rgba, &new.rgba, self.size.width, alpha);
                let moving =
                    self.slides[from].image.is_some() || self.slides[plan.slide].image.is_some();
                if moving && let Some(sub) = region.rect.intersect(&self.panel) {
                    // Inside it, compose each slide in full and crossfade those.
                    FADE.with(|cell| {
                        let mut scratch = cell.borrow_mut();
                        let len = (sub.w * sub.h * 4) as usize;
                        scratch.resize(2 * len, 0);
                        let (outgoing, incoming) = scratch.split_at_mut(len);
                        let mut a = Region {
                            buf: outgoing,
                            rect: sub,
                        };
                        self.compose_slide(from, plan.time, &mut a);
                        let mut b = Region {
                            buf: incoming,
                            rect: sub,
                        };
                        self.compose_slide(plan.slide, plan.time, &mut b);
                        region.crossfade_rect(outgoing, incoming, sub, alpha);
                    });
                }
            }
            None => self.compose_slide(plan.slide, plan.time, region),
        }
        if let Some(p) = &self.presenter {
            self.compose_presenter(p, plan, region);
        }
        if let Some(c) = plan.cue
            && let Some(cue) = self.cue_layer(c).as_ref()
        {
            region.composite(&cue.rgba, cue.rect, None);
        }
    }

    /// Draws the presenter into the part of `region` it covers, inside the card's mask.
    fn compose_presenter(&self, p: &Presenter, plan: &FramePlan, region: &mut Region<'_>) {
        let a = p.rect;
        if region.rect.intersect(&a) == Some(a) {
            // The whole presenter is in the region: draw it straight over its background
            // (taken out and put back through the card's mask) instead of drawing a layer
            // and blending that.
            PRESENTER.with(|cell| {
                let mut buf = cell.borrow_mut();
                buf.resize((a.w * a.h * 4) as usize, 0);
                region.copy_to(&mut buf, a);
                if let Some(mut target) = tiny_skia::PixmapMut::from_bytes(&mut buf, a.w, a.h) {
                    p.avatar.render_onto(&self.pose(plan.time), &mut target);
                }
                region.copy_masked(&buf, a, &self.card_mask, self.card);
            });
        } else if region.rect.intersect(&a).is_some() {
            let pixmap = plan
                .avatar
                .get_or_init(|| presenter_layer(p, self.pose(plan.time)));
            region.composite(pixmap.data(), a, Some((&self.card_mask, self.card)));
        }
    }

    /// The slide's static layer plus its Ken Burns image at `time`.
    fn compose_slide(&self, index: usize, time: f64, region: &mut Region<'_>) {
        let layer = self.slide_layer(index);
        let fw = self.size.width;
        let slide = &self.slides[index];
        let pic = slide
            .image
            .and_then(|i| self.pictures.get(i))
            .and_then(Option::as_ref);
        let Some(pic) = pic.filter(|_| region.rect.intersect(&self.panel).is_some()) else {
            region.copy_from_frame(&layer.rgba, fw);
            return;
        };
        let span = (slide.end - slide.start).max(1e-6);
        let progress = (time - slide.start) / span;
        let panel = (self.panel.w, self.panel.h);
        let window = picture::window(pic, panel, progress, slide.index);
        if let Some((top, bottom)) = self.panel_edges
            && region.rect.intersect(&self.panel) == Some(self.panel)
        {
            // The picture is opaque and the mask full inside the panel but for its
            // corners' rows, so the picture goes straight into the region (no static
            // pixels copied under it, no masked copy of it) and only those rows are
            // blended: the same bytes, a quarter of the frame less copying.
            let p = self.panel;
            region.copy_from_frame_around(&layer.rgba, fw, p);
            if !picture::render_window_into(pic, window, &mut region.sub_view_mut(p)) {
                region.copy_rect_from_frame(&layer.rgba, fw, p);
                return;
            }
            let bands = [
                PxRect::new(p.x, p.y, p.w, top),
                PxRect::new(p.x, p.bottom() - bottom, p.w, bottom),
            ];
            PANEL.with(|cell| {
                let mut buf = cell.borrow_mut();
                for band in bands.into_iter().filter(|b| !b.is_empty()) {
                    buf.resize((band.w * band.h * 4) as usize, 0);
                    region.copy_to(&mut buf, band);
                    region.copy_rect_from_frame(&layer.rgba, fw, band);
                    region.copy_masked(&buf, band, &self.panel_mask, p);
                }
            });
            return;
        }
        region.copy_from_frame(&layer.rgba, fw);
        PANEL.with(|cell| {
            let mut buf = cell.borrow_mut();
            picture::render_window(pic, window, panel, &mut buf);
            region.copy_masked(&buf, self.panel, &self.panel_mask, self.panel);
        });
    }

    fn pose(&self, time: f64) -> Pose {
        let tl = &self.timeline;
        Pose {
            viseme: tl.viseme_at(time),
            eye_closure: tl.eye_closure_at(time),
            time,
            motion: tl.motion,
        }
    }

    fn slide_layer(&self, index: usize) -> Arc<SlideLayer> {
        self.slide_layers.get(index, || {
            let ctx = SlideContext {
                geometry: &self.geometry,
                palette: &self.palette,
                title: &self.timeline.title,
                source: &self.timeline.source,
                site_name: self.timeline.site_name.as_deref(),
                credit: slide::credit_line(
                    self.timeline.byline.as_deref(),
                    self.timeline.published.as_deref(),
                ),
                total: self.slides.len(),
            };
            let slide = &self.slides[index];
            let pixmap = slide::draw_static(&ctx, slide, slide.layout);
            let rgba = pixmap.take();
            let i420 = I420Frame::from_rgba(&rgba, self.size.width, self.size.height);
            SlideLayer {
                rgba,
                i420: Arc::new(i420),
            }
        })
    }

    fn cue_layer(&self, index: usize) -> Arc<Option<CueLayer>> {
        self.cue_layers.get(index, || {
            let cue = &self.timeline.cues[index];
            let pm = slide::draw_cue(&self.geometry, &cue.lines)?;
            let band = PxRect::from_f32(self.geometry.subs);
            let (w, h) = (pm.width().min(band.w), pm.height().min(band.h));
            let rect = PxRect::new(band.x + (band.w - w) / 2, band.bottom() - h, w, h);
            Some(CueLayer {
                rect,
                rgba: pm.take(),
            })
        })
    }
}

/// The presenter drawn alone, as a layer of its rectangle's size.
fn presenter_layer(p: &Presenter, pose: Pose) -> Pixmap {
    let r = p.rect;
    let pixmap = p.avatar.render(&pose, r.w, r.h);
    if pixmap.width() == r.w && pixmap.height() == r.h {
        pixmap
    } else {
        // Defensive: a layer of another size would be misread; draw nothing instead.
        Pixmap::new(r.w, r.h).expect("non-zero presenter size")
    }
}

/// Where the presenter stands: as large as the card allows, on its bottom edge.
fn presenter_rect(avatar: &Avatar, card: PxRect) -> PxRect {
    let aspect = avatar.aspect().clamp(0.2, 5.0);
    let mut aw = card.w as f32 * 0.96;
    let mut ah = aw / aspect;
    if ah > card.h as f32 * 0.96 {
        ah = card.h as f32 * 0.96;
        aw = ah * aspect;
    }
    let (aw, ah) = (aw.round().max(2.0) as u32, ah.round().max(2.0) as u32);
    PxRect::new(
        card.x + (card.w - aw.min(card.w)) / 2,
        card.bottom() - ah.min(card.h),
        aw.min(card.w),
        ah.min(card.h),
    )
}

/// For a `w` × `h` coverage mask: how many rows at its top and bottom hold a pixel below
/// full coverage, if every row between them is fully covered (`None` otherwise).
fn opaque_between_edges(mask: &[u8], w: u32, h: u32) -> Option<(u32, u32)> {
    let w = w as usize;
    if w == 0 || mask.len() < w * h as usize {
        return None;
    }
    let full = |y: usize| mask[y * w..(y + 1) * w].iter().all(|&m| m == 255);
    let rows = h as usize;
    let top = (0..rows).take_while(|&y| !full(y)).count();
    let bottom = (top..rows).rev().take_while(|&y| !full(y)).count();
    let all_full_between = (top..rows - bottom).all(full);
    (top < rows && all_full_between).then_some((top as u32, bottom as u32))
}

/// Merges overlapping rectangles into their bounding boxes until none overlap, so each
/// pixel of a patched frame comes from exactly one of them. (Even-aligned inputs give
/// even-aligned boxes.)
fn disjoint(mut rects: Vec<PxRect>) -> Vec<PxRect> {
    'again: loop {
        for i in 0..rects.len() {
            for j in i + 1..rects.len() {
                if rects[i].intersect(&rects[j]).is_some() {
                    let (a, b) = (rects[i], rects.swap_remove(j));
                    let (x0, y0) = (a.x.min(b.x), a.y.min(b.y));
                    let (x1, y1) = (a.right().max(b.right()), a.bottom().max(b.bottom()));
                    rects[i] = PxRect::new(x0, y0, x1 - x0, y1 - y0);
                    continue 'again;
                }
            }
        }
        return rects;
    }
}

/// Finds the mouth by drawing the presenter at rest and wide open with motion off, and
/// taking the bounding box of the pixels that differ.
fn locate_mouth(
    avatar: &Avatar,
    at: PxRect,
    card: PxRect,
    motion: MotionSeed,
) -> (u32, u32, u32, u32) {
    let still = MotionSeed {
        seed: motion.seed,
        amount: 0.0,
    };
    let pose = |viseme| Pose {
        viseme,
        eye_closure: 0.0,
        time: 0.0,
        motion: still,
    };
    let rest = avatar.render(&pose(Viseme::X), at.w, at.h);
    let open = avatar.render(&pose(Viseme::D), at.w, at.h);
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0u32, 0u32);
    if rest.width() == at.w
        && open.width() == at.w
        && rest.height() == at.h
        && open.height() == at.h
    {
        for (i, (a, b)) in rest.pixels().iter().zip(open.pixels()).enumerate() {
            if a != b {
                let (x, y) = (i as u32 % at.w, i as u32 / at.w);
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
    }
    let (mx, my, mw, mh) = if x1 > x0 {
        (x0, y0, x1 - x0, y1 - y0)
    } else {
        // A presenter whose mouth never changes: assume a portrait's usual mouth spot.
        (at.w * 2 / 5, at.h * 2 / 5, at.w / 5, at.h / 8)
    };
    // Idle motion moves the head; widen by its reach so the mouth stays inside.
    let reach = (motion.amount.clamp(0.0, 1.0) * 0.06 * at.h as f32).ceil() as u32 + 2;
    let r = PxRect::new(
        (at.x + mx).saturating_sub(reach),
        (at.y + my).saturating_sub(reach),
        mw + 2 * reach,
        mh + 2 * reach,
    );
    let r = r.intersect(&card).unwrap_or(card);
    (r.x, r.y, r.w, r.h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presenter_drawn_onto_its_background_matches_a_blended_layer() {
        let size = VideoSize {
            width: 1280,
            height: 720,
        };
        let tl = Arc::new(crate::synthetic::timeline(size, 30, 4.0));
        let r = FrameRenderer::new(tl, Some(Avatar::builtin("avatar_3").unwrap())).unwrap();
        let p = r.presenter.as_ref().unwrap();
        for n in [0u64, 17, 45, 101] {
            let plan = r.plan(n);
            let a = p.rect;
            let background = r.slide_layer(plan.slide);
            let copy = |rect: PxRect| {
                let mut buf = vec![0u8; (rect.w * rect.h * 4) as usize];
                let full = Region {
                    buf: &mut background.rgba.clone(),
                    rect: PxRect::new(0, 0, size.width, size.height),
                };
                full.copy_to(&mut buf, rect);
                buf
            };
            // Fused: what compose does when the region holds the whole presenter.
            let mut fused = copy(a);
            let mut region = Region {
                buf: &mut fused,
                rect: a,
            };
            let mut drawn = copy(a);
            p.avatar.render_onto(
                &r.pose(plan.time),
                &mut tiny_skia::PixmapMut::from_bytes(&mut drawn, a.w, a.h).unwrap(),
            );
            region.copy_masked(&drawn, a, &r.card_mask, r.card);
            // Layered: the presenter drawn alone, then blended through the mask.
            let mut layered = copy(a);
            let mut region = Region {
                buf: &mut layered,
                rect: a,
            };
            region.composite(
                presenter_layer(p, r.pose(plan.time)).data(),
                a,
                Some((&r.card_mask, r.card)),
            );
            let worst = fused
                .iter()
                .zip(&layered)
                .map(|(x, y)| x.abs_diff(*y))
                .max()
                .unwrap();
            assert!(worst <= 2, "frame {n}: differs by {worst}");
            assert_ne!(fused, copy(a), "frame {n}: the presenter was drawn");
        }
    }

    #[test]
    fn panel_edges_are_the_rows_of_the_rounded_corners() {
        // 4 wide, 5 tall: partial rows 0 and 4, full rows between.
        let mut mask = vec![255u8; 20];
        mask[0] = 0;
        mask[3] = 128;
        mask[16] = 10;
        assert_eq!(opaque_between_edges(&mask, 4, 5), Some((1, 1)));
        assert_eq!(opaque_between_edges(&[255; 20], 4, 5), Some((0, 0)));
        // A partial pixel between full rows: no fast path.
        mask[9] = 254;
        assert_eq!(opaque_between_edges(&mask, 4, 5), None);
        assert_eq!(opaque_between_edges(&[7; 20], 4, 5), None);
        assert_eq!(opaque_between_edges(&[255; 3], 4, 5), None);
        // The renderer's own panels take it, with bands no taller than the corners.
        for (w, h) in [(1280, 720), (1920, 1080), (1080, 1920), (1080, 1080)] {
            let size = VideoSize {
                width: w,
                height: h,
            };
            let tl = Arc::new(crate::synthetic::timeline(size, 30, 4.0));
            let r = FrameRenderer::new(tl, None).unwrap();
            let (top, bottom) = r.panel_edges.expect("a panel with full rows");
            let radius = r.geometry.panel_radius.ceil() as u32;
            assert!(top >= 1 && top <= radius + 1, "{w}x{h}: {top}");
            assert!(bottom >= 1 && bottom <= radius + 1, "{w}x{h}: {bottom}");
        }
    }

    #[test]
    fn layer_cache_builds_once_and_stays_bounded() {
        let cache: LayerCache<usize> = LayerCache::new(2);
        let builds = std::sync::atomic::AtomicUsize::new(0);
        let get = |k: usize| {
            *cache.get(k, || {
                builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                k * 10
            })
        };
        assert_eq!(get(1), 10);
        assert_eq!(get(1), 10);
        assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 1);
        get(2);
        get(3); // evicts 1
        assert_eq!(cache.entries.lock().unwrap().len(), 2);
        get(1);
        assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 4);
    }
}
