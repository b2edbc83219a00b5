//! FNV-1a, 64 bits: the same value for the same bytes in every build, with
//! every Rust version (`std`'s hashers are keyed or may change). Used by
//! layout fingerprints, by `#[hot]`'s source hashes (the macro crate
//! compiles this same file) and for names of files kept on disk.

/// The state before any byte.
pub const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

const PRIME: u64 = 0x0000_0100_0000_01b3;

/// `state` with `bytes` fed in.
pub const fn extend(mut state: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        state = (state ^ bytes[i] as u64).wrapping_mul(PRIME);
        i += 1;
    }
    state
}

/// The hash of `bytes`.
pub const fn hash(bytes: &[u8]) -> u64 {
    extend(OFFSET, bytes)
}
