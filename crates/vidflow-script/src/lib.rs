//! Turns an article into a narration script: extractive summary, or an OpenAI-compatible chat model.
