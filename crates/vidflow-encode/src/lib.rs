//! Encodes frames and PCM to MP4 with the ffmpeg CLI, writes SRT/VTT and WAV, and probes results with ffprobe.
