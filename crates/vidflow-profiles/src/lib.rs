//! vidflow tuning its own settings with `vidflow-tune`.

pub mod quality;
