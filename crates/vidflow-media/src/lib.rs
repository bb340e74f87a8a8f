//! Frame composition: slide theme, text layout, subtitles, Ken Burns images, the avatar layer, and RGBA to yuv420p.
