//! Finds a web page's main text, title, byline, language and images.
