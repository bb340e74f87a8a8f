//! The cache's stored forms, disk and Redis, decoded from corrupt bytes.

use vidflow_cache::stored;

use crate::Target;

pub(super) const TARGET: Target = Target {
    name: "cache",
    about: "vidflow_cache::stored::{open_disk_entry, open_redis_value} on raw, damaged and re-sealed entries",
    run,
    tokens: &[
        b"VFCE",
        b"VFRH",
        b"VFRP",
        b"|PART|",
        b"\x01\x00\x00\x00",
        b"\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\x28\xb5\x2f\xfd",
        b"\x00\x00\x00\x00\x00\x00\x00\x00",
    ],
    nest: &[b"\x28\xb5\x2f\xfd\x00"],
    max_len: 1 << 20,
    test_inputs: 2000,
};

const KEY: &str = "speak-0123456789abcdef";

/// The first byte picks how the rest is used:
///
/// - 0: a disk blob as read from the disk;
/// - 1: a Redis head and parts, split at `|PART|`;
/// - 2, 3: a payload stored (disk, Redis), then damaged at the offsets the last bytes name:
///   must be refused or give back exactly the payload, never other bytes;
/// - 4: a Redis head re-sealed after the damage (its header check recomputed, as someone
///   with write access to Redis could), so the decompressor sees hostile lengths and data.
fn run(input: &[u8]) {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    match mode % 5 {
        0 => {
            let _ = stored::open_disk_entry(rest.to_vec(), KEY);
        }
        1 => {
            let mut sections = split(rest, b"|PART|");
            let head = sections.remove(0);
            let _ = stored::open_redis_value(&head, &sections, KEY);
        }
        2 => {
            let (payload, damage) = halves(rest);
            let mut blob = stored::seal_disk_entry(KEY, payload, u64::from(rest.len() as u32));
            let changed = apply_damage(&mut blob, damage);
            check(stored::open_disk_entry(blob, KEY), payload, changed);
        }
        3 => {
            let (payload, damage) = halves(rest);
            let part_bytes = 128 + damage.len() * 7 % 400;
            let (mut head, mut parts) =
                stored::seal_redis_value(KEY, payload, 7, part_bytes).expect("a value seals");
            let mut changed = apply_damage(&mut head, damage);
            for part in &mut parts {
                changed |= apply_damage(part, damage);
            }
            check(
                stored::open_redis_value(&head, &parts, KEY),
                payload,
                changed,
            );
        }
        _ => {
            let (payload, damage) = halves(rest);
            let (mut head, parts) =
                stored::seal_redis_value(KEY, payload, 7, 4096).expect("a value seals");
            // Damage only the header fields and the piece, then seal the header again.
            apply_damage(&mut head, damage);
            reseal_redis_head(&mut head);
            let _ = stored::open_redis_value(&head, &parts, KEY);
        }
    }
}

fn check(result: Result<Vec<u8>, stored::InvalidEntry>, payload: &[u8], changed: bool) {
    match result {
        Ok(got) => assert!(got == payload, "a damaged entry decoded to other bytes"),
        Err(e) => assert!(changed, "an undamaged entry was refused: {e}"),
    }
}

fn halves(rest: &[u8]) -> (&[u8], &[u8]) {
    rest.split_at(rest.len() / 2)
}

/// XORs bytes of `blob`: `damage` is read as (offset u16 LE, xor byte) triples. Says
/// whether any byte changed.
fn apply_damage(blob: &mut Vec<u8>, damage: &[u8]) -> bool {
    let mut changed = false;
    for d in damage.chunks_exact(3) {
        if blob.is_empty() {
            break;
        }
        let at = usize::from(u16::from_le_bytes([d[0], d[1]]));
        if at == usize::from(u16::MAX) {
            // Truncate instead: a value cut short by a full disk or an interrupted write.
            let keep = usize::from(d[2]) % blob.len();
            blob.truncate(keep);
            changed = true;
            continue;
        }
        let at = at % blob.len();
        blob[at] ^= d[2];
        changed |= d[2] != 0;
    }
    changed
}

/// Recomputes the header check of a Redis head (the layout in `vidflow-cache`'s
/// `redis/frame.rs`: blake3 of the key and bytes 0..68, first 8 bytes, at 68..76).
fn reseal_redis_head(head: &mut [u8]) {
    if head.len() < 76 {
        return;
    }
    let mut h = blake3::Hasher::new();
    h.update(KEY.as_bytes());
    h.update(&head[..68]);
    head[68..76].copy_from_slice(&h.finalize().as_bytes()[..8]);
}

fn split(data: &[u8], sep: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(rest[..i].to_vec());
        rest = &rest[i + sep.len()..];
    }
    out.push(rest.to_vec());
    out
}
