//! Mutations of an input, driven by a seeded RNG so that a run can be repeated exactly.
//!
//! Byte-level changes (flips, overwrites, deletions, duplications, splices with another
//! corpus entry) as in libFuzzer, plus the shapes that break parsers of text formats:
//! deep nesting, huge and odd numbers, non-ASCII and invalid UTF-8, and tokens of the
//! target's own syntax.

use fastrand::Rng;

/// Numbers that overflow, underflow or are not numbers, in the spellings parsers accept.
const ODD_NUMBERS: &[&str] = &[
    "18446744073709551616",
    "-9223372036854775809",
    "4294967296",
    "99999999999999999999999999999999999999",
    "1e309",
    "-1e309",
    "1e-400",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "0x7fffffff",
    "-0",
    "0.0000000000000000000000000001",
    "340282366920938463463374607431768211456",
];

/// Characters and byte sequences that are not plain ASCII, valid and invalid.
const NON_ASCII: &[&[u8]] = &[
    "é".as_bytes(),
    "ß".as_bytes(),
    "日本".as_bytes(),
    "😀".as_bytes(),
    "\u{200b}".as_bytes(),
    "\u{feff}".as_bytes(),
    "\u{202e}".as_bytes(),
    "\u{fffd}".as_bytes(),
    "\u{10ffff}".as_bytes(),
    "İ".as_bytes(),
    "\u{0}".as_bytes(),
    b"\xc3",
    b"\xf0\x9f",
    b"\xff\xfe",
    b"\xed\xa0\x80",
];

/// Applies one to eight random mutations to a copy of `base`; `others` are splice sources,
/// `tokens` the target's syntax, `nest` what the target nests (`<div>`, `[`), and the
/// result is at most `max_len` bytes.
pub struct Mutator<'a> {
    /// Entries to splice from.
    pub others: &'a [Vec<u8>],
    /// Fragments of the target's syntax.
    pub tokens: &'a [&'a [u8]],
    /// Openers that nest when repeated.
    pub nest: &'a [&'a [u8]],
    /// Longest input produced.
    pub max_len: usize,
}

impl Mutator<'_> {
    /// A mutated copy of `base`.
    pub fn mutate(&self, rng: &mut Rng, base: &[u8]) -> Vec<u8> {
        let mut data = base.to_vec();
        for _ in 0..rng.usize(1..=8) {
            self.once(rng, &mut data);
        }
        data.truncate(self.max_len);
        data
    }

    fn once(&self, rng: &mut Rng, data: &mut Vec<u8>) {
        let at = |rng: &mut Rng, data: &Vec<u8>| rng.usize(0..=data.len());
        match rng.u8(0..13) {
            0 if !data.is_empty() => {
                let i = rng.usize(0..data.len());
                data[i] ^= 1 << rng.u8(0..8);
            }
            1 if !data.is_empty() => {
                let i = rng.usize(0..data.len());
                data[i] = *rng
                    .choice(b"\0\xff<>\"'[]{}=\n\\/&;#.,: \x80-9")
                    .expect("non-empty");
            }
            2 if !data.is_empty() => {
                let start = rng.usize(0..data.len());
                let len = rng.usize(1..=(data.len() - start).min(256));
                data.drain(start..start + len);
            }
            3 if !data.is_empty() => {
                let start = rng.usize(0..data.len());
                let len = rng.usize(1..=(data.len() - start).min(512));
                let chunk = data[start..start + len].to_vec();
                let to = at(rng, data);
                data.splice(to..to, chunk);
            }
            4 if !self.others.is_empty() => {
                let other = &self.others[rng.usize(0..self.others.len())];
                if !other.is_empty() {
                    let start = rng.usize(0..other.len());
                    let len = rng.usize(1..=(other.len() - start).min(4096));
                    let to = at(rng, data);
                    data.splice(to..to, other[start..start + len].iter().copied());
                }
            }
            5 | 6 if !self.tokens.is_empty() => {
                let token = self.tokens[rng.usize(0..self.tokens.len())];
                let to = at(rng, data);
                data.splice(to..to, token.iter().copied());
            }
            7 if !self.nest.is_empty() => {
                // Deep nesting: a few hundred (past most limits) up to 100,000 (past stacks).
                let opener = self.nest[rng.usize(0..self.nest.len())];
                let times = *rng
                    .choice(&[300usize, 1_000, 10_000, 100_000])
                    .expect("non-empty");
                let times =
                    times.min(self.max_len.saturating_sub(data.len()) / opener.len().max(1));
                let to = at(rng, data);
                let run = opener.repeat(times);
                data.splice(to..to, run);
            }
            8 => {
                let number = rng.choice(ODD_NUMBERS).expect("non-empty").as_bytes();
                // Replace a run of digits when there is one nearby, else insert.
                let start = at(rng, data);
                match data[start..].iter().position(u8::is_ascii_digit) {
                    Some(off) if off < 64 => {
                        let s = start + off;
                        let e = s + data[s..].iter().take_while(|b| b.is_ascii_digit()).count();
                        data.splice(s..e, number.iter().copied());
                    }
                    _ => {
                        data.splice(start..start, number.iter().copied());
                    }
                }
            }
            9 => {
                let text = rng.choice(NON_ASCII).expect("non-empty");
                let to = at(rng, data);
                data.splice(to..to, text.iter().copied());
            }
            10 if !data.is_empty() => {
                let keep = rng.usize(0..data.len());
                data.truncate(keep);
            }
            11 if data.len() > 1 => {
                // Swap two ranges' positions: moves a closing tag before its opener.
                let a = rng.usize(0..data.len());
                let b = rng.usize(0..data.len());
                data.swap(a, b);
            }
            _ => {
                let to = at(rng, data);
                let byte = rng.u8(..);
                data.insert(to, byte);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let m = Mutator {
            others: &[b"other entry".to_vec()],
            tokens: &[b"<div>"],
            nest: &[b"["],
            max_len: 1 << 20,
        };
        let run = |seed| {
            let mut rng = Rng::with_seed(seed);
            (0..200)
                .map(|_| m.mutate(&mut rng, b"<p>base 123</p>"))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7).iter().all(|d| d.len() <= 1 << 20));
        assert!(run(7).iter().any(|d| d.len() > 1000), "nesting is inserted");
    }
}
