//! Stage 1, watch: turns file-system events under each hot package's
//! sources into [`Change`]s.
//!
//! Editors save in many ways (write in place, write a temporary file and
//! rename it over the original, delete and re-create); all of them touch the
//! directory we watch, so all of them arrive here. Bursts are coalesced by
//! `notify-debouncer-full` (a short quiet window per path) and again by the
//! pipeline, which always rebuilds after the last event: the last save wins.
//!
//! Known problems: network file systems and some containers deliver no
//! inotify events; there the reloader sees no edits.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use crate::Error;
use crate::build::Package;

/// Quiet time after the last event on a path before it is reported. Short:
/// the build itself takes ~100 ms, and a later event simply causes another
/// build.
pub const DEBOUNCE: Duration = Duration::from_millis(20);

/// Sources of one package changed.
#[derive(Debug)]
pub struct Change {
    /// Index into the reloader's package list.
    pub package: usize,
    /// The changed files.
    pub paths: Vec<PathBuf>,
    /// The first file event of the change (before the debounce window).
    pub seen: Instant,
}

/// Keeps the watcher alive; dropping it stops the events (and so ends the
/// pipeline thread, whose channel closes).
pub struct Watch {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

/// Watches `src/` of every package (recursively) and its manifest directory
/// (not recursively: `Cargo.toml`, `build.rs`, but never `target/`).
pub fn start(packages: &[Package], changes: Sender<Change>) -> Result<Watch, Error> {
    let roots: Vec<PathBuf> = packages.iter().map(|p| p.manifest_dir.clone()).collect();
    let mut debouncer = new_debouncer(
        DEBOUNCE,
        Some(DEBOUNCE / 4),
        move |result: DebounceEventResult| {
            let Ok(events) = result else {
                tracing::warn!("file watcher error: {result:?}");
                return;
            };
            let mut by_package: Vec<(Vec<PathBuf>, Option<Instant>)> =
                vec![(Vec::new(), None); roots.len()];
            for event in events.iter().filter(|event| is_edit(&event.kind)) {
                for path in event.paths.iter().filter(|path| is_source(path)) {
                    if let Some(package) = owner(&roots, path) {
                        let (paths, first) = &mut by_package[package];
                        paths.push(path.clone());
                        *first = Some(first.map_or(event.time, |t: Instant| t.min(event.time)));
                    }
                }
            }
            for (package, (paths, first)) in by_package.into_iter().enumerate() {
                if let Some(seen) = first {
                    tracing::debug!(?paths, "sources changed");
                    // A closed channel means the reloader is gone.
                    let _ = changes.send(Change {
                        package,
                        paths,
                        seen,
                    });
                }
            }
        },
    )
    .map_err(|e| Error::Watch {
        path: PathBuf::new(),
        message: e.to_string(),
    })?;
    for package in packages {
        let src = package.manifest_dir.join("src");
        let mut dirs = vec![(package.manifest_dir.as_path(), RecursiveMode::NonRecursive)];
        if src.is_dir() {
            dirs.push((src.as_path(), RecursiveMode::Recursive));
        }
        for (path, mode) in dirs {
            debouncer.watch(path, mode).map_err(|e| Error::Watch {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        }
    }
    Ok(Watch {
        _debouncer: debouncer,
    })
}

/// Content or name changes; not reads or permission changes.
fn is_edit(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Access(_) | EventKind::Modify(notify::event::ModifyKind::Metadata(_))
    )
}

/// Files that can change what `cargo` builds: Rust sources and manifests.
/// Editor swap and backup files (`.lib.rs.swp`, `lib.rs~`, `4913`) are not.
pub fn is_source(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.') && (name.ends_with(".rs") || name == "Cargo.toml")
}

/// The package whose directory holds `path` (the deepest, for nested
/// packages).
pub fn owner(roots: &[PathBuf], path: &Path) -> Option<usize> {
    roots
        .iter()
        .enumerate()
        .filter(|(_, root)| path.starts_with(root))
        .max_by_key(|(_, root)| root.components().count())
        .map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_rust_files_and_manifests() {
        assert!(is_source(Path::new("/p/src/lib.rs")));
        assert!(is_source(Path::new("/p/Cargo.toml")));
        assert!(!is_source(Path::new("/p/src/.lib.rs.swp")));
        assert!(!is_source(Path::new("/p/src/lib.rs~")));
        assert!(!is_source(Path::new("/p/src/4913")));
        assert!(!is_source(Path::new("/p/src/.#lib.rs")));
    }

    #[test]
    fn nested_packages_belong_to_the_deepest_root() {
        let roots = vec![PathBuf::from("/ws"), PathBuf::from("/ws/logic")];
        assert_eq!(owner(&roots, Path::new("/ws/src/main.rs")), Some(0));
        assert_eq!(owner(&roots, Path::new("/ws/logic/src/lib.rs")), Some(1));
        assert_eq!(owner(&roots, Path::new("/elsewhere/lib.rs")), None);
    }
}
