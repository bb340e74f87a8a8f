//! How close an encoded frame is to the frame that was encoded: SSIM, computed as x264 and
//! ffmpeg's `ssim` filter compute it, so that figures here read like theirs.
//!
//! Each plane is cut into 4×4 blocks; every 8×8 window made of 2×2 neighbouring blocks (so
//! windows overlap by half) gets an SSIM from the sums of its pixels, their squares and
//! their products; a plane's SSIM is the mean over its windows, and a yuv420p frame's the
//! planes' means weighted by their pixel counts (4:1:1), ffmpeg's "All".

/// SSIM of two yuv420p frames of `width`×`height` (both even), 0 to 1 (1: identical).
///
/// ```
/// let (w, h) = (16, 16);
/// let a: Vec<u8> = (0..w * h * 3 / 2).map(|i| (i * 7 % 251) as u8).collect();
/// assert_eq!(vidflow_profiles::quality::ssim_i420(&a, &a, w as u32, h as u32), 1.0);
/// let mut b = a.clone();
/// b[5] ^= 0x40;
/// assert!(vidflow_profiles::quality::ssim_i420(&a, &b, w as u32, h as u32) < 1.0);
/// ```
pub fn ssim_i420(reference: &[u8], distorted: &[u8], width: u32, height: u32) -> f64 {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w / 2, h / 2);
    let luma = w * h;
    let chroma = cw * ch;
    let planes = [(0, w, h), (luma, cw, ch), (luma + chroma, cw, ch)];
    let mut weighted = 0.0;
    let mut total = 0.0;
    for (offset, pw, ph) in planes {
        let len = pw * ph;
        if reference.len() < offset + len || distorted.len() < offset + len {
            return 0.0;
        }
        let s = ssim_plane(
            &reference[offset..offset + len],
            &distorted[offset..offset + len],
            pw,
            ph,
        );
        weighted += s * len as f64;
        total += len as f64;
    }
    if total > 0.0 { weighted / total } else { 0.0 }
}

/// Sums over one 4×4 block: of a, of b, of a² + b², of a·b.
#[derive(Clone, Copy, Default)]
struct BlockSums {
    a: u32,
    b: u32,
    squares: u32,
    products: u32,
}

/// SSIM of one plane (`width`×`height` bytes each).
pub fn ssim_plane(a: &[u8], b: &[u8], width: usize, height: usize) -> f64 {
    let (bw, bh) = (width / 4, height / 4);
    if bw < 2 || bh < 2 {
        // Too small for one 8×8 window: compare the whole plane as one.
        return if a == b { 1.0 } else { window_ssim_f(a, b) };
    }
    let mut sums = vec![BlockSums::default(); bw * bh];
    for by in 0..bh {
        for bx in 0..bw {
            let mut s = BlockSums::default();
            for y in 0..4 {
                let row = (by * 4 + y) * width + bx * 4;
                for x in 0..4 {
                    let (p, q) = (u32::from(a[row + x]), u32::from(b[row + x]));
                    s.a += p;
                    s.b += q;
                    s.squares += p * p + q * q;
                    s.products += p * q;
                }
            }
            sums[by * bw + bx] = s;
        }
    }
    let mut total = 0.0;
    for by in 0..bh - 1 {
        for bx in 0..bw - 1 {
            let mut s = BlockSums::default();
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let q = sums[(by + dy) * bw + bx + dx];
                s.a += q.a;
                s.b += q.b;
                s.squares += q.squares;
                s.products += q.products;
            }
            total += window_ssim(s);
        }
    }
    total / ((bw - 1) * (bh - 1)) as f64
}

/// One 8×8 window's SSIM from its sums, with x264's constants (64 pixels a window).
fn window_ssim(s: BlockSums) -> f64 {
    const C1: f64 = 0.01 * 0.01 * 255.0 * 255.0 * 64.0;
    const C2: f64 = 0.03 * 0.03 * 255.0 * 255.0 * 64.0 * 63.0;
    let (fa, fb) = (f64::from(s.a), f64::from(s.b));
    let variances = f64::from(s.squares) * 64.0 - fa * fa - fb * fb;
    let covariance = f64::from(s.products) * 64.0 - fa * fb;
    ((2.0 * fa * fb + C1) * (2.0 * covariance + C2)) / ((fa * fa + fb * fb + C1) * (variances + C2))
}

/// SSIM of two small buffers taken as one window.
fn window_ssim_f(a: &[u8], b: &[u8]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    if n == 0.0 {
        return 1.0;
    }
    let mean = |v: &[u8]| v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let (ma, mb) = (mean(a), mean(b));
    let (mut va, mut vb, mut cov) = (0.0, 0.0, 0.0);
    for (&p, &q) in a.iter().zip(b) {
        let (p, q) = (f64::from(p) - ma, f64::from(q) - mb);
        va += p * p;
        vb += q * q;
        cov += p * q;
    }
    let (va, vb, cov) = (va / n, vb / n, cov / n);
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> Vec<u8> {
        (0..w * h * 3 / 2)
            .map(|i| ((i % w) * 255 / w.max(1)) as u8)
            .collect()
    }

    #[test]
    fn identical_frames_score_one_and_noise_lowers_it_in_order() {
        let (w, h) = (64, 48);
        let a = gradient(w, h);
        assert_eq!(ssim_i420(&a, &a, w as u32, h as u32), 1.0);
        let noisy = |amount: u8| -> Vec<u8> {
            a.iter()
                .enumerate()
                .map(|(i, &p)| {
                    let n = ((i * 2_654_435_761) >> 7) as u8 % (2 * amount + 1);
                    p.saturating_add(n).saturating_sub(amount)
                })
                .collect()
        };
        let little = ssim_i420(&a, &noisy(3), w as u32, h as u32);
        let lots = ssim_i420(&a, &noisy(40), w as u32, h as u32);
        assert!(
            1.0 > little && little > lots && lots > 0.0,
            "{little} {lots}"
        );
    }

    #[test]
    fn a_short_buffer_scores_zero() {
        let a = gradient(16, 16);
        assert_eq!(ssim_i420(&a, &a[..10], 16, 16), 0.0);
    }
}
