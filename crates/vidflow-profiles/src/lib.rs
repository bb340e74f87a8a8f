//! vidflow tuning its own settings with `vidflow-tune`: the encoder's (the smallest file at
//! an SSIM, or the best trade-off of size, SSIM and encode time) on a sample of the real
//! render, and the render's throughput on this machine.

pub mod encode;
pub mod quality;
pub mod render;
pub mod sample;
pub mod stage;

pub use encode::{EncodeTuning, EncoderChoice, load_profile};
pub use render::{RenderChoice, RenderTuning};
pub use sample::EncodeSample;
pub use stage::register;
