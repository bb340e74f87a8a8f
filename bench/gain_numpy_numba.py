"""Per-channel gain in NumPy and Numba, side by side with vidflow's `gain_u8`/`gain_f32`.

Same kernel as vidflow: out[..., c] = in[..., c] * gain[c % n] on H x W x 4 frames,
u8 with saturation (8.8 fixed point, rounded: min(255, (in * q + 128) >> 8)) and f32.
NumPy is vectorised array code; Numba is @njit(parallel=True), both as the natural
triple loop with prange over rows ("numba") and as one prange loop over the flat samples
("numba_flat", the form LLVM vectorises best), compiled (and run once) before timing. Medians of --runs timed runs; JSON on stdout.
"""

import argparse
import json
import os
import platform
import time

import numba
import numpy as np
from numba import njit, prange

SIZES = [(1280, 720), (1920, 1080), (3840, 2160)]
GAINS = np.array([0.9, 1.1, 1.3, 1.0], dtype=np.float32)
Q8 = np.round(GAINS * 256.0).astype(np.uint32)


def numpy_u8(src, dst):
    # uint32 intermediates: in * q needs up to 24 bits.
    np.minimum((src.astype(np.uint32) * Q8 + 128) >> 8, 255, out=dst, casting="unsafe")


def numpy_f32(src, dst):
    np.multiply(src, GAINS, out=dst)


@njit(parallel=True, fastmath=False, cache=False)
def numba_u8(src, dst, q):
    h, w, c = src.shape
    for y in prange(h):
        for x in range(w):
            for k in range(c):
                v = (np.uint32(src[y, x, k]) * q[k] + np.uint32(128)) >> np.uint32(8)
                dst[y, x, k] = 255 if v > 255 else v


@njit(parallel=True, fastmath=False, cache=False)
def numba_f32(src, dst, g):
    h, w, c = src.shape
    for y in prange(h):
        for x in range(w):
            for k in range(c):
                dst[y, x, k] = src[y, x, k] * g[k]


@njit(parallel=True, fastmath=False, cache=False)
def numba_u8_flat(src, dst, q):
    # The same kernel over the flat sample array: the form LLVM vectorises best.
    n = src.size
    for i in prange(n):
        v = (np.uint32(src[i]) * q[i & 3] + np.uint32(128)) >> np.uint32(8)
        dst[i] = min(v, np.uint32(255))


@njit(parallel=True, fastmath=False, cache=False)
def numba_f32_flat(src, dst, g):
    n = src.size
    for i in prange(n):
        dst[i] = src[i] * g[i & 3]


def median_ms(fn, runs):
    fn()  # warm-up (and, for Numba, already compiled)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    if args.runs < 5:
        raise SystemExit("--runs must be at least 5")
    rng = np.random.default_rng(1)
    # Compile before any timing: compile time is excluded.
    tiny_u8 = np.zeros((2, 2, 4), np.uint8)
    tiny_f32 = np.zeros((2, 2, 4), np.float32)
    numba_u8(tiny_u8, tiny_u8.copy(), Q8)
    numba_f32(tiny_f32, tiny_f32.copy(), GAINS)
    numba_u8_flat(tiny_u8.reshape(-1), tiny_u8.copy().reshape(-1), Q8)
    numba_f32_flat(tiny_f32.reshape(-1), tiny_f32.copy().reshape(-1), GAINS)
    results = []
    for w, h in SIZES:
        src8 = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        dst8 = np.empty_like(src8)
        src32 = src8.astype(np.float32) / 255.0
        dst32 = np.empty_like(src32)
        # Same output from both, and the same as vidflow's definition.
        numpy_u8(src8, dst8)
        check = dst8.copy()
        numba_u8(src8, dst8, Q8)
        assert np.array_equal(check, dst8)
        flat8, flat_dst8 = src8.reshape(-1), dst8.reshape(-1)
        flat32, flat_dst32 = src32.reshape(-1), dst32.reshape(-1)
        numba_u8_flat(flat8, flat_dst8, Q8)
        assert np.array_equal(check, dst8)
        cases = [
            ("gain_u8", "numpy", lambda: numpy_u8(src8, dst8), 2 * src8.nbytes),
            ("gain_u8", "numba", lambda: numba_u8(src8, dst8, Q8), 2 * src8.nbytes),
            ("gain_f32", "numpy", lambda: numpy_f32(src32, dst32), 2 * src32.nbytes),
            ("gain_f32", "numba", lambda: numba_f32(src32, dst32, GAINS), 2 * src32.nbytes),
            ("gain_u8", "numba_flat", lambda: numba_u8_flat(flat8, flat_dst8, Q8), 2 * src8.nbytes),
            ("gain_f32", "numba_flat", lambda: numba_f32_flat(flat32, flat_dst32, GAINS), 2 * src32.nbytes),
        ]
        for kernel, impl, fn, nbytes in cases:
            ms = median_ms(fn, args.runs)
            results.append(
                {
                    "kernel": kernel,
                    "impl": impl,
                    "width": w,
                    "height": h,
                    "bytes_per_frame": nbytes,
                    "median_ms": ms,
                    "gb_per_s": nbytes / (ms * 1e-3) / 1e9,
                }
            )
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "numba": numba.__version__,
                "numba_threads": numba.get_num_threads(),
                "cores": os.cpu_count(),
                "runs": args.runs,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
