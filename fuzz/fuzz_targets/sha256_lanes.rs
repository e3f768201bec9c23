//! The SHA-NI lane kernel: however the fingerprint's workers interleave up
//! to four messages (each lane's blocks compressed alongside the others',
//! then its tail padded alone), every digest is plain SHA-256.
#![no_main]

use sha256_lanes::{self as sha256x, BLOCK, IV, LANES};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest as _, Sha256};

fuzz_target!(|input: (Vec<u8>, u8)| {
    let (bytes, cut) = input;
    // Up to four messages of different lengths out of one input.
    let lanes = usize::from(cut) % LANES + 1;
    let step = bytes.len() / lanes + usize::from(cut);
    let messages: Vec<&[u8]> = (0..lanes)
        .map(|i| {
            let start = (i * step).min(bytes.len());
            let end = (start + step + i * 61).min(bytes.len());
            &bytes[start..end]
        })
        .collect();
    let common = messages.iter().map(|m| m.len() / BLOCK).min().unwrap_or(0);
    let mut states = vec![IV; lanes];
    sha256x::compress(&mut states, &messages, common);
    for (state, m) in states.into_iter().zip(&messages) {
        let mut state = [state];
        let rest = &m[common * BLOCK..];
        let more = rest.len() / BLOCK;
        sha256x::compress(&mut state, &[rest], more);
        let digest = sha256x::finish(state[0], &rest[more * BLOCK..], m.len() as u64);
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(m)), "{} bytes", m.len());
    }
});
