//! Animated presenters: built-in vector avatars and sprite packs, with Rhubarb mouth shapes, blinks and idle motion.
