//! Idle motion: the small sway, tilt, bob and breathing that keep a presenter alive.
//!
//! Each component is a sum of two slow sines whose phases come from the seed, so two
//! presenters (or two videos) do not move in lockstep, yet a frame stays a pure function of
//! (seed, time). The frequencies are incommensurate so the motion never visibly loops.

use std::f64::consts::TAU;

use vidflow_core::MotionSeed;

/// Displacements at one instant, in figure units (the built-in figure is 360x400 units).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Idle {
    /// Horizontal head offset.
    pub sway: f32,
    /// Vertical head offset (positive is down).
    pub bob: f32,
    /// Head tilt in degrees (positive is clockwise).
    pub tilt_deg: f32,
    /// Breathing, 0 (exhaled) to the motion amount (inhaled).
    pub breath: f32,
    /// A single smooth wave in -amount..amount, for sprite packs' bob.
    pub wave: f32,
}

/// SplitMix64: a tiny, well-mixed generator, enough to spread a seed over phases.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The idle motion at `time` seconds for `seed`; all zero when the amount is zero.
pub(crate) fn idle(time: f64, seed: MotionSeed) -> Idle {
    let amount = if seed.amount.is_finite() {
        seed.amount.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if amount == 0.0 || !time.is_finite() {
        return Idle::default();
    }
    let mut state = seed.seed;
    let mut phase = || (splitmix(&mut state) >> 11) as f64 / (1u64 << 53) as f64 * TAU;
    // Two sines per component: (amplitude share, frequency in Hz).
    let mut wave = |parts: [(f64, f64); 2]| -> f64 {
        parts
            .iter()
            .map(|&(share, hz)| share * (TAU * hz * time + phase()).sin())
            .sum()
    };
    let sway = wave([(0.6, 0.13), (0.4, 0.31)]);
    let bob = wave([(0.7, 0.21), (0.3, 0.47)]);
    let tilt = wave([(0.6, 0.11), (0.4, 0.27)]);
    // About 15 breaths a minute.
    let breath = 0.5 + 0.5 * wave([(1.0, 0.25), (0.0, 0.0)]);
    let single = wave([(0.8, 0.23), (0.2, 0.53)]);
    let a = f64::from(amount);
    Idle {
        sway: (a * 3.0 * sway) as f32,
        bob: (a * 1.8 * bob) as f32,
        tilt_deg: (a * 2.4 * tilt) as f32,
        breath: (a * breath) as f32,
        wave: (a * single) as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_amount_is_still() {
        let s = MotionSeed {
            seed: 7,
            amount: 0.0,
        };
        assert_eq!(idle(0.0, s), Idle::default());
        assert_eq!(idle(12.3, s), Idle::default());
    }

    #[test]
    fn motion_is_smooth_small_and_seeded() {
        let s = MotionSeed {
            seed: 42,
            amount: 1.0,
        };
        let mut prev = idle(0.0, s);
        let mut moved = false;
        for i in 1..3000 {
            let m = idle(f64::from(i) / 30.0, s);
            assert!(m.sway.abs() <= 3.0 && m.bob.abs() <= 1.8 && m.tilt_deg.abs() <= 2.4);
            assert!((0.0..=1.0).contains(&m.breath));
            // At 30 fps nothing jumps by more than a fraction of a unit.
            assert!((m.sway - prev.sway).abs() < 0.2, "sway jumped at frame {i}");
            assert!((m.tilt_deg - prev.tilt_deg).abs() < 0.2);
            moved |= m != prev;
            prev = m;
        }
        assert!(moved);
        let other = MotionSeed {
            seed: 43,
            amount: 1.0,
        };
        assert_ne!(idle(1.0, s), idle(1.0, other));
        assert_eq!(idle(1.0, s), idle(1.0, s));
    }
}
