//! The upgrade file: the new builds of a program's hot packages and the
//! libraries they need, for one exact binary, numbered and signed.
//!
//! Made by `cargo hotreload upgrade` where the program was built, read by
//! the running program ([`Upgrades`](super::Upgrades)), which checks it in
//! this order before anything in it is written to disk or loaded:
//!
//! 1. the signature ([`Signed::open`]): the last 96 bytes are an ed25519
//!    public key and the signature by it of everything before; the key must
//!    be one the program trusts (`HOT061`);
//! 2. the layout ([`Upgrade::parse`]): every length and count is checked
//!    against the bytes left before it is used, names are plain file names,
//!    nothing follows the last piece (`HOT060`);
//! 3. the binary ([`Upgrade::binary`], the executable's GNU build id) and
//!    the sequence number, by the receiver (`HOT062`, `HOT063`).
//!
//! Layout (integers little-endian):
//!
//! ```text
//! magic     b"HOTRELOAD-UPGRADE\n"
//! version   u32 (1)
//! binary    u32 length, then the build id's bytes
//! sequence  u64
//! pieces    u32 count, then each:
//!             kind  u8  (1 a package's build, 2 a library a build needs,
//!                        3 the program's symbols, see `one_copy`,
//!                        4 a new binary to restart into)
//!             name  u32 length, then UTF-8 (the package, or a file name)
//!             data  u64 length, then the bytes
//! key       32 bytes (ed25519 public key)
//! signature 64 bytes (ed25519, over everything before `key`)
//! ```
//!
//! The format is ours (no archive crate): it is small, and a format we
//! parse in full, with every length checked, is easier to trust than a
//! general archive reader facing untrusted bytes.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// First bytes of every upgrade file.
pub const MAGIC: &[u8] = b"HOTRELOAD-UPGRADE\n";
/// The version of the layout this runtime reads and writes.
pub const VERSION: u32 = 1;
/// The key and the signature at the end.
const TRAILER: usize = 32 + 64;

/// What one piece of an upgrade is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A hot package's new build (a cdylib); named by the package.
    Build,
    /// A shared library a build needs that the binary does not hold (the
    /// toolchain's `libstd`, the dependencies library); named by its file
    /// name, which is its soname.
    Library,
    /// The program's symbols as a shared object, made at address 0 (see
    /// `stage::one_copy`): the receiver moves them to where it runs.
    Symbols,
    /// A new binary of the program, for an edit no reload can take: the
    /// receiver restarts into it with its state (see `restart`); named by
    /// the binary's file name.
    Binary,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Build => 1,
            Kind::Library => 2,
            Kind::Symbols => 3,
            Kind::Binary => 4,
        }
    }

    fn of(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Build,
            2 => Kind::Library,
            3 => Kind::Symbols,
            4 => Kind::Binary,
            _ => return None,
        })
    }
}

/// One file of an upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// What it is.
    pub kind: Kind,
    /// The package of a build; a library's file name.
    pub name: String,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// An upgrade, as made or as read back after its signature was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The GNU build id of the binary it is for.
    pub binary: Vec<u8>,
    /// Above the last one the program applied.
    pub sequence: u64,
    /// The builds, the libraries they need, the program's symbols (or a
    /// new binary alone). The receiver takes the symbols first (so that
    /// what loads after binds to the program), then the libraries, then
    /// the builds, whatever their order here.
    pub pieces: Vec<Piece>,
}

/// Why bytes are not an upgrade this program may read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// The layout is wrong (`HOT060`).
    #[error("{0}")]
    Malformed(String),
    /// Not signed by a trusted key, or changed since it was signed
    /// (`HOT061`).
    #[error("{0}")]
    Untrusted(String),
}

/// An upgrade's bytes whose signature is checked: only then parsed.
pub struct Signed<'a> {
    body: &'a [u8],
    /// The key that signed it.
    pub key: VerifyingKey,
}

impl<'a> Signed<'a> {
    /// Checks that `bytes` end with a signature, by one of `trusted`, of
    /// everything before it.
    pub fn open(bytes: &'a [u8], trusted: &[VerifyingKey]) -> Result<Signed<'a>, Invalid> {
        if !bytes.starts_with(MAGIC) {
            return Err(Invalid::Malformed(
                "not an upgrade file (it does not start with the upgrade magic)".into(),
            ));
        }
        let Some(split) = bytes
            .len()
            .checked_sub(TRAILER)
            .filter(|&at| at >= MAGIC.len())
        else {
            return Err(Invalid::Malformed(format!(
                "{} bytes: too short to hold a key and a signature (truncated?)",
                bytes.len()
            )));
        };
        let (body, trailer) = bytes.split_at(split);
        let key: [u8; 32] = trailer[..32].try_into().expect("32 bytes");
        let signature = Signature::from_bytes(&trailer[32..].try_into().expect("64 bytes"));
        let Some(key) = trusted.iter().find(|trusted| trusted.as_bytes() == &key) else {
            return Err(Invalid::Untrusted(format!(
                "its last bytes name the key {}, which this program does not trust: the \
                 file is unsigned, signed with another key, or cut short",
                hex(&key)
            )));
        };
        key.verify(body, &signature).map_err(|_| {
            Invalid::Untrusted(format!(
                "the signature by the trusted key {} does not match the contents: the file was \
                 changed after it was signed (or truncated)",
                hex(key.as_bytes())
            ))
        })?;
        Ok(Signed { body, key: *key })
    }

    /// The upgrade it holds.
    pub fn upgrade(&self) -> Result<Upgrade, Invalid> {
        Upgrade::parse(self.body)
    }
}

impl Upgrade {
    /// Reads an upgrade's body (everything before the key and signature).
    /// Every length is checked against what is left: no input makes it
    /// read out of bounds, allocate more than the input's size, or panic.
    pub fn parse(body: &[u8]) -> Result<Upgrade, Invalid> {
        let mut reader = Reader { bytes: body, at: 0 };
        if reader.take(MAGIC.len(), "the magic")? != MAGIC {
            return Err(Invalid::Malformed("not an upgrade file".into()));
        }
        let version = reader.u32("the version")?;
        if version != VERSION {
            return Err(Invalid::Malformed(format!(
                "layout version {version}; this runtime reads version {VERSION} (made by another \
                 version of cargo-hotreload)"
            )));
        }
        let binary_len = reader.u32("the binary id's length")? as usize;
        let binary = reader.take(binary_len, "the binary id")?.to_vec();
        let sequence = reader.u64("the sequence number")?;
        let count = reader.u32("the number of pieces")?;
        let mut pieces = Vec::new();
        for index in 0..count {
            let what = |field: &str| format!("piece {index}'s {field}");
            let kind = reader.take(1, &what("kind"))?[0];
            let kind = Kind::of(kind)
                .ok_or_else(|| Invalid::Malformed(format!("piece {index}: unknown kind {kind}")))?;
            let name_len = reader.u32(&what("name length"))? as usize;
            let name = std::str::from_utf8(reader.take(name_len, &what("name"))?)
                .map_err(|_| Invalid::Malformed(format!("piece {index}: its name is not UTF-8")))?
                .to_string();
            if !is_plain_name(&name) {
                return Err(Invalid::Malformed(format!(
                    "piece {index}: `{name}` is not a plain file name"
                )));
            }
            let data_len = usize::try_from(reader.u64(&what("length"))?)
                .map_err(|_| Invalid::Malformed(format!("piece {index}: too long")))?;
            let data = reader.take(data_len, &what("data"))?.to_vec();
            pieces.push(Piece { kind, name, data });
        }
        if reader.at != body.len() {
            return Err(Invalid::Malformed(format!(
                "{} bytes after the last piece",
                body.len() - reader.at
            )));
        }
        Ok(Upgrade {
            binary,
            sequence,
            pieces,
        })
    }

    /// The body's bytes (what [`Upgrade::parse`] reads).
    pub fn body(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(VERSION.to_le_bytes());
        out.extend((self.binary.len() as u32).to_le_bytes());
        out.extend(&self.binary);
        out.extend(self.sequence.to_le_bytes());
        out.extend((self.pieces.len() as u32).to_le_bytes());
        for piece in &self.pieces {
            out.push(piece.kind.byte());
            out.extend((piece.name.len() as u32).to_le_bytes());
            out.extend(piece.name.as_bytes());
            out.extend((piece.data.len() as u64).to_le_bytes());
            out.extend(&piece.data);
        }
        out
    }

    /// The file: the body, the key, and the signature by `key`.
    pub fn sign(&self, key: &SigningKey) -> Vec<u8> {
        let mut out = self.body();
        let signature = key.sign(&out);
        out.extend(key.verifying_key().as_bytes());
        out.extend(signature.to_bytes());
        out
    }
}

/// The GNU build id of an executable or library: what an upgrade names
/// its binary by.
pub fn build_id(file: &[u8]) -> Result<Vec<u8>, String> {
    use object::Object;
    let file = object::File::parse(file).map_err(|e| format!("cannot parse the program: {e}"))?;
    match file.build_id() {
        Ok(Some(id)) => Ok(id.to_vec()),
        _ => Err("the program has no build id (link it with `-Wl,--build-id`)".into()),
    }
}

/// A name written as a file name: not empty, no path separator, not `.`
/// or `..`, no NUL.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// Reads fields from the front, checking each length first.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], Invalid> {
        let left = self.bytes.len() - self.at;
        if len > left {
            return Err(Invalid::Malformed(format!(
                "{what} needs {len} bytes at offset {} and {left} are left (truncated?)",
                self.at
            )));
        }
        let field = &self.bytes[self.at..self.at + len];
        self.at += len;
        Ok(field)
    }

    fn u32(&mut self, what: &str) -> Result<u32, Invalid> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self, what: &str) -> Result<u64, Invalid> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex (64 characters for a key); `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// A public key from its hex form (as `cargo hotreload keygen` writes it).
pub fn public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes: [u8; 32] = unhex(text)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| format!("`{}` is not a public key (64 hex digits)", text.trim()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("not an ed25519 public key: {e}"))
}

/// A signing key from its hex form.
pub fn signing_key(text: &str) -> Result<SigningKey, String> {
    let bytes: [u8; 32] = unhex(text)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or("not a secret key (64 hex digits)")?;
    Ok(SigningKey::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn sample() -> Upgrade {
        Upgrade {
            binary: vec![0xab; 20],
            sequence: 7,
            pieces: vec![
                Piece {
                    kind: Kind::Library,
                    name: "libstd-1234.so".into(),
                    data: vec![1, 2, 3],
                },
                Piece {
                    kind: Kind::Build,
                    name: "service".into(),
                    data: (0..=255).collect(),
                },
            ],
        }
    }

    #[test]
    fn a_signed_upgrade_reads_back_as_made() {
        let file = sample().sign(&key(1));
        let signed = Signed::open(&file, &[key(1).verifying_key()]).unwrap();
        assert_eq!(signed.upgrade().unwrap(), sample());
    }

    #[test]
    fn another_key_a_changed_byte_and_a_cut_are_refused() {
        let file = sample().sign(&key(1));
        let trusted = [key(1).verifying_key()];
        let other = Signed::open(&sample().sign(&key(2)), &trusted)
            .err()
            .unwrap();
        assert!(matches!(&other, Invalid::Untrusted(m) if m.contains("does not trust")));
        let mut changed = file.clone();
        changed[40] ^= 1;
        let changed = Signed::open(&changed, &trusted).err().unwrap();
        assert!(matches!(&changed, Invalid::Untrusted(m) if m.contains("changed after")));
        let cut = Signed::open(&file[..file.len() - 1], &trusted)
            .err()
            .unwrap();
        assert!(matches!(cut, Invalid::Untrusted(_)), "{cut}");
        let stub = Signed::open(&file[..50], &trusted).err().unwrap();
        assert!(matches!(&stub, Invalid::Malformed(m) if m.contains("too short")));
    }

    #[test]
    fn names_that_are_paths_are_refused() {
        for name in ["../evil.so", "/etc/passwd", "", ".."] {
            let mut upgrade = sample();
            upgrade.pieces[0].name = name.into();
            let error = Upgrade::parse(&upgrade.body()).unwrap_err();
            assert!(
                error.to_string().contains("not a plain file name"),
                "{error}"
            );
        }
    }

    /// Every prefix of a body, and many bodies with bytes changed at
    /// random (a fixed seed: the same inputs every run), are refused or
    /// read without a panic and without reading past the input.
    #[test]
    fn fuzzed_bodies_never_panic() {
        let body = sample().body();
        for len in 0..body.len() {
            assert!(
                Upgrade::parse(&body[..len]).is_err(),
                "prefix of {len} bytes"
            );
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let mut read = 0;
        for _ in 0..20_000 {
            let mut bytes = body.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % bytes.len();
                bytes[at] = next() as u8;
            }
            if next() % 3 == 0 {
                bytes.truncate((next() as usize) % bytes.len());
            }
            if let Ok(upgrade) = Upgrade::parse(&bytes) {
                read += 1;
                assert!(upgrade.pieces.iter().map(|p| p.data.len()).sum::<usize>() <= bytes.len());
            }
        }
        // Changed data bytes still read (only the signature catches them).
        assert!(read > 0);
    }

    #[test]
    fn keys_go_through_hex() {
        let secret = key(3);
        let public = hex(secret.verifying_key().as_bytes());
        assert_eq!(public_key(&public).unwrap(), secret.verifying_key());
        assert_eq!(signing_key(&hex(&secret.to_bytes())).unwrap(), secret);
        assert!(public_key("xyz").is_err());
    }
}
