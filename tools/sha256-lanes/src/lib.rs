//! SHA-256 block compression for several independent streams at once.
//!
//! Why this exists: one SHA-256 stream is a chain. Each `sha256rnds2` needs
//! the result of the one before, so a core with the SHA extensions hashes one
//! stream at the latency of that chain while its SHA units sit idle most
//! cycles. A build-context fingerprint hashes thousands of files, so it
//! always has independent streams: compressing a block of each of [`LANES`]
//! files in one loop keeps those units busy, and one core then hashes nearly
//! twice as many bytes as it can of a single stream
//! (`scripts/bench/RESULTS.md` has the figures).
//!
//! This crate is that kernel and nothing else, so that the one `unsafe` call
//! it needs (into code compiled for CPU features detected at run time) sits
//! apart from the tools.
//!
//! Only the compression function is here; padding and the length block are
//! the caller's ([`finish`] does both for a tail). The digests are plain
//! SHA-256: the unit tests compare every lane count and length with the
//! `sha2` crate, and the integration tests compare `--list` with `sha256sum`.
//! CPUs without the SHA extensions (and other architectures) get
//! `sha2`'s compression function, one lane after the other.

/// How many streams are compressed together: enough to cover the latency of
/// `sha256rnds2` on current x86 cores; more adds register pressure, not speed.
pub const LANES: usize = 4;

/// The length of a SHA-256 block.
pub const BLOCK: usize = 64;

/// A SHA-256 chaining state (the eight working words).
pub type State = [u32; 8];

/// The initial state of SHA-256 (FIPS 180-4, 5.3.3).
pub const IV: State = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Compresses the first `blocks` 64-byte blocks of `data[i]` into
/// `states[i]`, for every lane `i`.
///
/// # Panics
/// If the slices differ in length, hold more than [`LANES`] lanes, or a
/// lane holds fewer than `blocks` blocks.
pub fn compress(states: &mut [State], data: &[&[u8]], blocks: usize) {
    assert_eq!(states.len(), data.len(), "one state per lane");
    assert!(states.len() <= LANES, "at most {LANES} lanes");
    assert!(
        data.iter().all(|d| d.len() >= blocks * BLOCK),
        "every lane holds the blocks asked for"
    );
    if blocks == 0 || states.is_empty() {
        return;
    }
    // One stream gains nothing from the lane kernel: `sha2`'s is as fast.
    #[cfg(target_arch = "x86_64")]
    if states.len() > 1 && shani::available() {
        shani::compress(states, data, blocks);
        return;
    }
    for (state, bytes) in states.iter_mut().zip(data) {
        let (whole, _) = bytes[..blocks * BLOCK].as_chunks::<BLOCK>();
        sha2::block_api::compress256(state, whole);
    }
}

/// Hashes the final `tail` (shorter than a block) of a message of `len`
/// bytes into `state` with SHA-256's padding, and returns the digest.
///
/// # Panics
/// If `tail` is a whole block or longer.
pub fn finish(mut state: State, tail: &[u8], len: u64) -> [u8; 32] {
    assert!(tail.len() < BLOCK, "the tail is shorter than a block");
    let mut last = [0u8; 2 * BLOCK];
    last[..tail.len()].copy_from_slice(tail);
    last[tail.len()] = 0x80;
    let blocks = if tail.len() < BLOCK - 8 { 1 } else { 2 };
    last[blocks * BLOCK - 8..blocks * BLOCK].copy_from_slice(&(len * 8).to_be_bytes());
    compress(
        std::slice::from_mut(&mut state),
        &[&last[..blocks * BLOCK]],
        blocks,
    );
    let mut digest = [0u8; 32];
    for (out, word) in digest.chunks_exact_mut(4).zip(state) {
        out.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

#[cfg(target_arch = "x86_64")]
mod shani {
    //! The SHA-NI kernel: the standard two-rounds-per-instruction schedule
    //! (Intel's "SHA extensions" paper), written once per round group for
    //! all lanes so that the lanes' instructions interleave.

    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_extract_epi32, _mm_set_epi64x, _mm_setr_epi32,
        _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi8,
        _mm_shuffle_epi32,
    };
    use std::sync::OnceLock;

    use super::{BLOCK, LANES, State};

    /// The round constants, four per round group.
    const K: [u32; 64] = [
        0x428a_2f98,
        0x7137_4491,
        0xb5c0_fbcf,
        0xe9b5_dba5,
        0x3956_c25b,
        0x59f1_11f1,
        0x923f_82a4,
        0xab1c_5ed5,
        0xd807_aa98,
        0x1283_5b01,
        0x2431_85be,
        0x550c_7dc3,
        0x72be_5d74,
        0x80de_b1fe,
        0x9bdc_06a7,
        0xc19b_f174,
        0xe49b_69c1,
        0xefbe_4786,
        0x0fc1_9dc6,
        0x240c_a1cc,
        0x2de9_2c6f,
        0x4a74_84aa,
        0x5cb0_a9dc,
        0x76f9_88da,
        0x983e_5152,
        0xa831_c66d,
        0xb003_27c8,
        0xbf59_7fc7,
        0xc6e0_0bf3,
        0xd5a7_9147,
        0x06ca_6351,
        0x1429_2967,
        0x27b7_0a85,
        0x2e1b_2138,
        0x4d2c_6dfc,
        0x5338_0d13,
        0x650a_7354,
        0x766a_0abb,
        0x81c2_c92e,
        0x9272_2c85,
        0xa2bf_e8a1,
        0xa81a_664b,
        0xc24b_8b70,
        0xc76c_51a3,
        0xd192_e819,
        0xd699_0624,
        0xf40e_3585,
        0x106a_a070,
        0x19a4_c116,
        0x1e37_6c08,
        0x2748_774c,
        0x34b0_bcb5,
        0x391c_0cb3,
        0x4ed8_aa4a,
        0x5b9c_ca4f,
        0x682e_6ff3,
        0x748f_82ee,
        0x78a5_636f,
        0x84c8_7814,
        0x8cc7_0208,
        0x90be_fffa,
        0xa450_6ceb,
        0xbef9_a3f7,
        0xc671_78f2,
    ];

    /// Whether this CPU has the SHA extensions and the SSE levels the kernel
    /// uses (checked once).
    pub fn available() -> bool {
        static AVAILABLE: OnceLock<bool> = OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            std::arch::is_x86_feature_detected!("sha")
                && std::arch::is_x86_feature_detected!("sse4.1")
                && std::arch::is_x86_feature_detected!("ssse3")
        })
    }

    /// Dispatches on the lane count, so that each count gets a kernel with
    /// its loops unrolled.
    pub fn compress(states: &mut [State], data: &[&[u8]], blocks: usize) {
        match states.len() {
            2 => lanes::<2>(states, data, blocks),
            3 => lanes::<3>(states, data, blocks),
            _ => lanes::<LANES>(states, data, blocks),
        }
    }

    fn lanes<const N: usize>(states: &mut [State], data: &[&[u8]], blocks: usize) {
        let mut own: [State; N] = std::array::from_fn(|i| states[i]);
        let bytes: [&[u8]; N] = std::array::from_fn(|i| &data[i][..blocks * BLOCK]);
        // SAFETY: `kernel` only needs the CPU features it is compiled for,
        // and `available()` (the sole way here) found them on this CPU.
        #[allow(unsafe_code)]
        unsafe {
            kernel::<N>(&mut own, &bytes);
        }
        states[..N].copy_from_slice(&own);
    }

    /// Four big-endian message words from 16 bytes (one vector load and a
    /// byte shuffle once compiled).
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn load(bytes: &[u8], bswap: __m128i) -> __m128i {
        let word =
            |i: usize| i32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        _mm_shuffle_epi8(_mm_setr_epi32(word(0), word(4), word(8), word(12)), bswap)
    }

    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn k(group: usize) -> __m128i {
        let w = |i: usize| K[4 * group + i].cast_signed();
        _mm_setr_epi32(w(0), w(1), w(2), w(3))
    }

    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn kernel<const N: usize>(states: &mut [State; N], data: &[&[u8]; N]) {
        let bswap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
        let word = |s: &State, i: usize| s[i].cast_signed();
        // The instructions keep the state as ABEF and CDGH.
        let mut abef: [__m128i; N] = std::array::from_fn(|l| {
            let s = &states[l];
            _mm_setr_epi32(word(s, 5), word(s, 4), word(s, 1), word(s, 0))
        });
        let mut cdgh: [__m128i; N] = std::array::from_fn(|l| {
            let s = &states[l];
            _mm_setr_epi32(word(s, 7), word(s, 6), word(s, 3), word(s, 2))
        });
        let blocks = data[0].len() / BLOCK;
        for b in 0..blocks {
            let (abef0, cdgh0) = (abef, cdgh);
            let mut w: [[__m128i; 4]; N] = std::array::from_fn(|l| {
                let block = &data[l][b * BLOCK..(b + 1) * BLOCK];
                std::array::from_fn(|j| load(&block[16 * j..16 * j + 16], bswap))
            });
            for group in 0..16 {
                let kv = k(group);
                for l in 0..N {
                    let w = &mut w[l];
                    if group >= 4 {
                        // W[t..t+4] from W[t-16..t]: the sigma0 terms, the
                        // W[t-7] terms, then the sigma1 terms.
                        let (w0, w1, w2, w3) = (
                            w[group % 4],
                            w[(group + 1) % 4],
                            w[(group + 2) % 4],
                            w[(group + 3) % 4],
                        );
                        w[group % 4] = _mm_sha256msg2_epu32(
                            _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4)),
                            w3,
                        );
                    }
                    let wk = _mm_add_epi32(w[group % 4], kv);
                    cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], wk);
                    abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(wk, 0x0e));
                }
            }
            for l in 0..N {
                abef[l] = _mm_add_epi32(abef[l], abef0[l]);
                cdgh[l] = _mm_add_epi32(cdgh[l], cdgh0[l]);
            }
        }
        for l in 0..N {
            let (x, y) = (abef[l], cdgh[l]);
            let u = |v: i32| v.cast_unsigned();
            states[l] = [
                u(_mm_extract_epi32(x, 3)),
                u(_mm_extract_epi32(x, 2)),
                u(_mm_extract_epi32(y, 3)),
                u(_mm_extract_epi32(y, 2)),
                u(_mm_extract_epi32(x, 1)),
                u(_mm_extract_epi32(x, 0)),
                u(_mm_extract_epi32(y, 1)),
                u(_mm_extract_epi32(y, 0)),
            ];
        }
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest as _, Sha256};

    use super::*;

    /// Hashes whole messages through `compress` with `lanes` lanes at a
    /// time, the way the fingerprint does.
    fn hash_all(messages: &[Vec<u8>], lanes: usize) -> Vec<[u8; 32]> {
        let mut out = Vec::new();
        for group in messages.chunks(lanes) {
            let blocks = group.iter().map(|m| m.len() / BLOCK).min().unwrap_or(0);
            let mut states = vec![IV; group.len()];
            let data: Vec<&[u8]> = group.iter().map(Vec::as_slice).collect();
            compress(&mut states, &data, blocks);
            for (state, m) in states.into_iter().zip(group) {
                let mut state = [state];
                let rest = &m[blocks * BLOCK..];
                let more = rest.len() / BLOCK;
                compress(&mut state, &[rest], more);
                out.push(finish(state[0], &rest[more * BLOCK..], m.len() as u64));
            }
        }
        out
    }

    fn message(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i.to_le_bytes()[0]).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn every_lane_count_and_length_gives_plain_sha256() {
        let lengths: Vec<usize> = (0..=200)
            .chain([
                255, 256, 257, 1000, 4095, 4096, 4097, 65_535, 65_536, 100_003,
            ])
            .collect();
        let messages: Vec<Vec<u8>> = lengths
            .iter()
            .enumerate()
            .map(|(i, &len)| message(len, i.to_le_bytes()[0]))
            .collect();
        let expected: Vec<[u8; 32]> = messages.iter().map(|m| Sha256::digest(m).into()).collect();
        for lanes in 1..=LANES {
            assert_eq!(hash_all(&messages, lanes), expected, "{lanes} lanes");
        }
    }

    #[test]
    fn known_answers() {
        use std::fmt::Write as _;
        // FIPS 180-2 appendix B: "abc" and the empty message.
        let hex = |d: [u8; 32]| {
            d.iter().fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
        };
        assert_eq!(
            hex(finish(IV, b"abc", 3)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(finish(IV, b"", 0)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn lanes_do_not_leak_into_each_other() {
        // The same block in every lane but one: only that lane differs.
        let same = message(640, 7);
        let other = message(640, 8);
        let mut states = [IV; LANES];
        compress(&mut states, &[&same, &other, &same, &same], 10);
        assert_eq!(states[0], states[2]);
        assert_eq!(states[0], states[3]);
        assert_ne!(states[0], states[1]);
    }
}
