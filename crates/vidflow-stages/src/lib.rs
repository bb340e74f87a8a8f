//! The explainer pipeline: each stage with its content key, the storyboard, and the cached run that makes a video.
