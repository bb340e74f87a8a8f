//! Content-addressed cache of stage outputs: memory (moka), disk (cacache, checksummed) and tiers of both.
