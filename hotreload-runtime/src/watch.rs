//! Stage 1, watch: turns file-system events under each hot package's
//! sources into [`Change`]s.
//!
//! Editors save in many ways (write in place, write a temporary file and
//! rename it over the original, delete and re-create); all of them touch the
//! directory we watch, so all of them arrive here.
//!
//! When to start a build is a trade between latency and building a file
//! that is still being written. Most saves say when they are done: the
//! writer closes the file (inotify's `IN_CLOSE_WRITE`), or renames a
//! finished file into place, or deletes one. Those end the wait after
//! [`SETTLE`] (so the files of a "save all" go into one build). Any other
//! event (a write without a close yet, a create) waits for [`QUIET`] without
//! further events. A fixed debounce window (`notify-debouncer-full`'s) would
//! add its whole window to every reload, and its timer thread ticks even
//! when nothing happens; this thread sleeps until an event arrives. The
//! pipeline then coalesces queued changes and discards a build that a newer
//! save made stale: the last save wins.
//!
//! Known problems: network file systems and some containers deliver no
//! inotify events; there the reloader sees no edits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};

use crate::Error;

/// After an event that ends a save: long enough to gather the other files
/// of the same save.
pub const SETTLE: Duration = Duration::from_millis(2);

/// After any other event: the quiet time that must follow before a build.
pub const QUIET: Duration = Duration::from_millis(20);

/// Sources of one package changed.
#[derive(Debug)]
pub struct Change {
    /// Index into the watched roots (the reloader's package list).
    pub package: usize,
    /// The changed files.
    pub paths: Vec<PathBuf>,
    /// The first file event of the change.
    pub seen: Instant,
}

/// Keeps the watcher alive; dropping it stops the events, and so ends the
/// batching thread (the pipeline thread ends on `Event::Stop`, sent when
/// the `Reloader` is dropped).
pub struct Watch {
    _watcher: notify::RecommendedWatcher,
}

/// Watches `src/` under every package directory in `roots` (recursively)
/// and the directory itself (not recursively: `Cargo.toml`, `build.rs`,
/// but never `target/`). A [`Change`] names its package by its index in
/// `roots`.
pub fn start<T: From<Change> + Send + 'static>(
    roots: Vec<PathBuf>,
    changes: Sender<T>,
) -> Result<Watch, Error> {
    let (events_tx, events) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(events_tx).map_err(|e| Error::Watcher {
        message: e.to_string(),
    })?;
    for root in &roots {
        let src = root.join("src");
        let mut dirs = vec![(root.as_path(), RecursiveMode::NonRecursive)];
        if src.is_dir() {
            dirs.push((src.as_path(), RecursiveMode::Recursive));
        }
        for (path, mode) in dirs {
            watcher.watch(path, mode).map_err(|e| Error::Watch {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        }
    }
    std::thread::Builder::new()
        .name("hotreload-watch".into())
        .spawn(move || batch(&events, &roots, &changes))
        .map_err(|source| Error::Thread {
            name: "file watch",
            source,
        })?;
    Ok(Watch { _watcher: watcher })
}

/// How soon after `kind` a build may start, or `None` for events that
/// change nothing (reads, opens, permission changes).
fn wait_after(kind: &EventKind) -> Option<Duration> {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write))
        | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
        | EventKind::Remove(_) => Some(SETTLE),
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) => None,
        _ => Some(QUIET),
    }
}

/// A package's change being gathered.
struct Pending {
    paths: Vec<PathBuf>,
    seen: Instant,
    due: Instant,
}

/// Gathers events per package and sends each package's change when it is
/// due. Returns when either channel closes.
fn batch<T: From<Change>>(
    events: &Receiver<notify::Result<notify::Event>>,
    roots: &[PathBuf],
    changes: &Sender<T>,
) {
    let mut pending: BTreeMap<usize, Pending> = BTreeMap::new();
    loop {
        let next_due = pending.values().map(|p| p.due).min();
        let received = match next_due {
            None => events.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(due) => events.recv_timeout(due.saturating_duration_since(Instant::now())),
        };
        match received {
            Ok(Ok(event)) => {
                let now = Instant::now();
                let Some(wait) = wait_after(&event.kind) else {
                    continue;
                };
                for path in event.paths.iter() {
                    let Some(package) = owner(roots, path) else {
                        continue;
                    };
                    if !is_source(&roots[package], path) {
                        continue;
                    }
                    let entry = pending.entry(package).or_insert_with(|| Pending {
                        paths: Vec::new(),
                        seen: now,
                        due: now + wait,
                    });
                    if !entry.paths.contains(path) {
                        entry.paths.push(path.clone());
                    }
                    // An end-of-save event shortens the wait; any other
                    // event restarts the quiet window.
                    entry.due = if wait == SETTLE {
                        entry.due.min(now + wait)
                    } else {
                        entry.due.max(now + wait)
                    };
                }
            }
            Ok(Err(error)) => tracing::warn!("file watcher error: {error}"),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        let due: Vec<usize> = pending
            .iter()
            .filter(|(_, p)| p.due <= now)
            .map(|(&package, _)| package)
            .collect();
        for package in due {
            let Some(Pending { paths, seen, .. }) = pending.remove(&package) else {
                continue;
            };
            tracing::debug!(?paths, "sources changed");
            if changes
                .send(T::from(Change {
                    package,
                    paths,
                    seen,
                }))
                .is_err()
            {
                return; // the reloader is gone
            }
        }
    }
}

/// Files of the package in `root` that can change what `cargo` builds:
/// Rust sources under `src/`, and in the package directory its manifest,
/// `build.rs`, and a Rust file the manifest names (`[lib] path = "lib.rs"`,
/// `build = "gen.rs"`). Editor swap and backup files (`.lib.rs.swp`,
/// `lib.rs~`, `4913`) are not, nor a copy kept beside the sources
/// (`lib.v1.rs` in the package directory).
pub fn is_source(root: &Path, path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with('.') || !(name.ends_with(".rs") || name == "Cargo.toml") {
        return false;
    }
    path.parent() != Some(root)
        || name == "Cargo.toml"
        || name == "build.rs"
        || std::fs::read_to_string(root.join("Cargo.toml"))
            .is_ok_and(|manifest| manifest.contains(&format!("\"{name}\"")))
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
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let source = |path: &str| is_source(root, &root.join(path));
        assert!(source("src/lib.rs"));
        assert!(source("src/game/rules.rs"));
        assert!(source("Cargo.toml"));
        assert!(source("build.rs"));
        assert!(!source("src/.lib.rs.swp"));
        assert!(!source("src/lib.rs~"));
        assert!(!source("src/4913"));
        assert!(!source("src/.#lib.rs"));
        // A copy beside the sources, which no target compiles...
        assert!(!source("lib.v1.rs"));
        // ...and a file the manifest names.
        std::fs::write(root.join("Cargo.toml"), "[lib]\npath = \"lib.rs\"\n").unwrap();
        assert!(source("lib.rs"));
        assert!(!source("lib.v1.rs"));
    }

    fn event(kind: EventKind, path: &str) -> notify::Result<notify::Event> {
        Ok(notify::Event::new(kind).add_path(PathBuf::from(path)))
    }

    #[test]
    fn a_closed_write_ends_the_wait_and_reads_are_ignored() {
        use notify::event::{CreateKind, DataChange};
        let (events_tx, events) = mpsc::channel();
        let (changes_tx, changes) = mpsc::channel();
        let roots = vec![PathBuf::from("/ws")];
        let batcher = std::thread::spawn(move || batch::<Change>(&events, &roots, &changes_tx));
        let modify = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let close = EventKind::Access(AccessKind::Close(AccessMode::Write));
        let read = EventKind::Access(AccessKind::Open(AccessMode::Any));

        // rustc reading a file is not an edit.
        events_tx.send(event(read, "/ws/src/lib.rs")).unwrap();
        // An in-place save: modify, then close.
        events_tx.send(event(modify, "/ws/src/lib.rs")).unwrap();
        events_tx.send(event(close, "/ws/src/lib.rs")).unwrap();
        let change = changes.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(change.package, 0);
        assert_eq!(change.paths, vec![PathBuf::from("/ws/src/lib.rs")]);

        // A write not closed yet waits for the quiet window.
        let sent = Instant::now();
        events_tx
            .send(event(EventKind::Create(CreateKind::File), "/ws/src/new.rs"))
            .unwrap();
        let change = changes.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(sent.elapsed() >= QUIET);
        assert_eq!(change.paths, vec![PathBuf::from("/ws/src/new.rs")]);

        drop(events_tx);
        batcher.join().unwrap();
        assert!(changes.try_recv().is_err(), "nothing else was sent");
    }

    #[test]
    fn nested_packages_belong_to_the_deepest_root() {
        let roots = vec![PathBuf::from("/ws"), PathBuf::from("/ws/logic")];
        assert_eq!(owner(&roots, Path::new("/ws/src/main.rs")), Some(0));
        assert_eq!(owner(&roots, Path::new("/ws/logic/src/lib.rs")), Some(1));
        assert_eq!(owner(&roots, Path::new("/elsewhere/lib.rs")), None);
    }
}
