//! Why a staged build must never be unloaded, read from its imports (see
//! the unloading rules in `apply::generations`).

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, Sym};

/// Why the build in `library` (its bytes, as staged) must never be
/// unloaded, if it must not.
pub fn pinned(library: &[u8]) -> Option<String> {
    let reasons = match pins(library) {
        Ok(reasons) => reasons,
        Err(error) => return Some(format!("it cannot be read ({error})")),
    };
    (!reasons.is_empty()).then(|| reasons.join(" and "))
}

fn pins(library: &[u8]) -> Result<Vec<&'static str>, object::Error> {
    let file = ElfFile64::<object::Endianness>::parse(library)?;
    let endian = file.endian();
    let sections = file.elf_header().sections(endian, library)?;
    let dynamic = sections.symbols(endian, library, elf::SHT_DYNSYM)?;
    // What the build calls in `std` (or the program): mangled names, legacy
    // or v0, both spell each path segment as <length><name>.
    let imports = |segments: &[&[u8]]| {
        dynamic.iter().any(|symbol| {
            symbol.is_undefined(endian)
                && dynamic
                    .symbol_name(endian, symbol)
                    .is_ok_and(|name| segments.iter().all(|segment| contains(name, segment)))
        })
    };
    let mut reasons = Vec::new();
    // A thread-local with a destructor registers it with `std` on first
    // use; a thread that ends later runs it, in this build's code.
    if imports(&[b"12thread_local", b"11destructors", b"8register"]) {
        reasons.push("it has thread-locals with destructors");
    }
    if imports(&[b"12tracing_core", b"8callsite"]) {
        reasons.push("it registers `tracing` callsites with the program");
    }
    Ok(reasons)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
