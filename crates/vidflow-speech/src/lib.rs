//! Speaks text with Flite, linked natively, returning PCM with word and phone timings.
