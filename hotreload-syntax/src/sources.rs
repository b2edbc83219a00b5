//! Which sources a program was built from: one hash of a package's `src/`,
//! made the same way by the `#[hot]` macro (from the files as the compiler
//! builds them, kept in the program) and by the reloader (from the files it
//! reads at start). The same hash, and the reloader knows the program was
//! built from the sources it sees: its first build can be a quick one.

use std::path::Path;

/// FNV-1a (64 bits, the same in every build) of each file's path relative
/// to `src/` (`/`-separated) and text, in path order.
pub fn hash<'a>(files: impl IntoIterator<Item = (String, &'a [u8])>) -> u64 {
    let mut files: Vec<(String, &[u8])> = files.into_iter().collect();
    files.sort();
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    let mut add = |bytes: &[u8]| {
        for byte in bytes.iter().chain(&[0xff]) {
            state = (state ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for (path, text) in files {
        add(path.as_bytes());
        add(text);
    }
    state
}

/// A file's path relative to `src`, `/`-separated, as [`hash`] takes it.
pub fn relative(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file);
    let parts: Vec<_> = relative.iter().map(|part| part.to_string_lossy()).collect();
    parts.join("/")
}

/// [`hash`] of every `.rs` file under `src` (the directories followed as
/// the reloader follows them), read now; `None` if one cannot be read.
pub fn hash_dir(src: &Path) -> Option<u64> {
    let mut paths = Vec::new();
    rust_files(src, &mut paths);
    let texts: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|path| Some((relative(src, path), std::fs::read(path).ok()?)))
        .collect::<Option<_>>()?;
    Some(hash(
        texts.iter().map(|(path, text)| (path.clone(), &text[..])),
    ))
}

/// Every `.rs` file under `dir`, recursively (in no particular order).
pub fn rust_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_of_the_files_paths_and_texts_in_any_order() {
        let dir = std::env::temp_dir().join(format!("hotreload-sources-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("world")).unwrap();
        std::fs::write(dir.join("lib.rs"), "pub mod world;").unwrap();
        std::fs::write(dir.join("world/mod.rs"), "pub fn f() {}").unwrap();
        std::fs::write(dir.join("notes.txt"), "not a source").unwrap();
        let from_disk = hash_dir(&dir).unwrap();
        let given = hash([
            ("world/mod.rs".to_string(), &b"pub fn f() {}"[..]),
            ("lib.rs".to_string(), &b"pub mod world;"[..]),
        ]);
        assert_eq!(from_disk, given);
        // A text moved from one file to the other is another set of sources.
        let moved = hash([
            ("world/mod.rs".to_string(), &b""[..]),
            ("lib.rs".to_string(), &b"pub mod world;pub fn f() {}"[..]),
        ]);
        assert_ne!(from_disk, moved);
        // The same texts under another path: another set of sources too.
        let renamed = hash([
            ("world/other.rs".to_string(), &b"pub fn f() {}"[..]),
            ("lib.rs".to_string(), &b"pub mod world;"[..]),
        ]);
        assert_ne!(from_disk, renamed);
        std::fs::write(dir.join("world/mod.rs"), "pub fn f() { }").unwrap();
        assert_ne!(hash_dir(&dir).unwrap(), from_disk);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
