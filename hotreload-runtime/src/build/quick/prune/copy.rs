//! The pruned copy of the package on disk.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Writes a pruned copy of the package at `package_dir` under `shadow`:
/// `src/` with `files` (path under the package, text) and every other file
/// of `src/` linked; every other entry of the package linked, so that
/// `include_str!`, `#[path]` and the like find what they found. Nothing
/// is ever written through a link: every directory of the copy's `src/`
/// is a directory of its own (a linked one is made one), and a `.rs` file
/// of the copy that the sources no longer have is removed (a module moved
/// from `a.rs` to `a/mod.rs` would be found twice).
pub fn write_shadow(
    package_dir: &Path,
    shadow: &Path,
    files: &[(PathBuf, String)],
) -> std::io::Result<()> {
    std::fs::create_dir_all(shadow.join("src"))?;
    for entry in std::fs::read_dir(package_dir)?.flatten() {
        if entry.file_name() != "src" {
            link(&entry.path(), &shadow.join(entry.file_name()))?;
        }
    }
    let copies: HashSet<PathBuf> = files
        .iter()
        .filter_map(|(path, _)| Some(shadow.join(path.strip_prefix(package_dir).ok()?)))
        .collect();
    mirror(&package_dir.join("src"), &shadow.join("src"), &copies)?;
    for (path, text) in files {
        let Ok(relative) = path.strip_prefix(package_dir) else {
            continue;
        };
        let copy = shadow.join(relative);
        if std::fs::read_to_string(&copy).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&copy, text)?;
        }
    }
    Ok(())
}

/// `dir`'s directories made under `copy` (real ones, links followed), its
/// files other than `.rs` linked there, and the `.rs` files and the
/// directories there that are not `copies` or `dir`'s removed.
pub(super) fn mirror(dir: &Path, copy: &Path, copies: &HashSet<PathBuf>) -> std::io::Result<()> {
    if std::fs::symlink_metadata(copy).is_ok_and(|meta| !meta.is_dir()) {
        std::fs::remove_file(copy)?;
    }
    std::fs::create_dir_all(copy)?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let (path, to) = (entry.path(), copy.join(entry.file_name()));
        if path.is_dir() {
            mirror(&path, &to, copies)?;
        } else if path.extension().is_none_or(|ext| ext != "rs") {
            link(&path, &to)?;
        }
    }
    for entry in std::fs::read_dir(copy)?.flatten() {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            // A directory the sources no longer have (`a/mod.rs` moved to
            // `a.rs`): its links are removed, not what they point at.
            if !dir.join(entry.file_name()).is_dir() {
                std::fs::remove_dir_all(&path)?;
            }
        } else if path.extension().is_some_and(|ext| ext == "rs")
            && (!copies.contains(&path) || kind.is_symlink())
        {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

pub(super) fn link(original: &Path, at: &Path) -> std::io::Result<()> {
    if std::fs::read_link(at).is_ok_and(|target| target == original) {
        return Ok(());
    }
    let _ = std::fs::remove_file(at);
    std::os::unix::fs::symlink(original, at)
}
