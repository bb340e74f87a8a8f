//! Fetches pages and images over HTTP(S), file:// and local paths, with an SSRF guard and size/time limits.
