//! FNV-1a, 64 bits: the same value for the same bytes in every build, with
//! every Rust version (`std`'s hashers are keyed or may change). `#[hot]`'s
//! source hashes and the names it derives from types. Only values this
//! crate makes are ever compared with each other (the core crate has its
//! own FNV for layout fingerprints), so the two need not be the same code.

/// The hash of `bytes`.
pub const fn hash(bytes: &[u8]) -> u64 {
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        state = (state ^ bytes[i] as u64).wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    state
}
