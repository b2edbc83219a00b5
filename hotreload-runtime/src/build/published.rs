//! One build per save for every process of a program: processes that
//! share a package's target directory (copies of one program, several
//! programs of a workspace) take turns through a lock file, and each
//! build's outcome is published beside it, for the sources it was made
//! from. A process whose turn comes finds the build of the very sources it
//! saw and takes it instead of building again; if none matches (the
//! builder died, or the files changed since), it builds and publishes.
//!
//! The lock (`flock` on `target/hotreload/<package>/rustc-<profile>-<target>-<hash>.lock`,
//! beside the saved rustc command, see [`Place::new`]) is
//! held from before the build until the artifact is staged (copied): the
//! next build overwrites the artifact in cargo's directory. The kernel
//! releases it when its holder dies, so another process takes over.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use hotreload_core::layout::LayoutHasher;

use crate::Error;
use crate::build::config::BuildConfig;
use crate::build::package::Package;
use crate::build::{self, Built, Cancel, Recipe};

/// What the holder of the lock sees of the package's sources: a hash of
/// every watched file's path, size and modification time.
pub type Stamp = u64;

/// A package's build lock, held while this process builds or takes a
/// build, and released when dropped.
pub struct Turn {
    _file: File,
}

/// The outcome of the last build of a package, for the sources it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub stamp: Stamp,
    /// The process that built it.
    pub builder: u32,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Built {
        artifact: PathBuf,
        warnings: usize,
    },
    /// The compiler's rendered errors.
    Failed {
        rendered: String,
    },
}

/// First line of a record.
const FORMAT: &str = "hotreload published build v1";

/// Where one package (for one profile and target) takes turns: the lock
/// file and the record.
#[derive(Debug, Clone)]
pub struct Place {
    lock: PathBuf,
    record: PathBuf,
}

impl Place {
    /// `base`: a path unique to the package, profile and target (the saved
    /// command's, see `BuildConfig::saved_command`).
    pub fn new(base: &Path) -> Place {
        let name = base.file_name().map_or_else(
            || "build".to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        Place {
            lock: base.with_file_name(format!("{name}.lock")),
            record: base.with_file_name(format!("{name}.published")),
        }
    }

    /// Waits for this process's turn.
    pub fn take_turn(&self) -> io::Result<Turn> {
        if let Some(dir) = self.lock.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)?;
        loop {
            // SAFETY: flock(2) on a file descriptor we own; it touches no
            // memory of ours.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Turn { _file: file });
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }

    /// The last published build, if there is one to read.
    pub fn read(&self, _turn: &Turn) -> Option<Published> {
        let text = fs::read_to_string(&self.record).ok()?;
        let mut fields = text.split('\0');
        if fields.next()? != FORMAT {
            return None;
        }
        let stamp = fields.next()?.parse().ok()?;
        let builder = fields.next()?.parse().ok()?;
        let outcome = match fields.next()? {
            "built" => Outcome::Built {
                artifact: PathBuf::from(fields.next()?),
                warnings: fields.next()?.parse().ok()?,
            },
            "failed" => Outcome::Failed {
                rendered: fields.next()?.to_string(),
            },
            _ => return None,
        };
        Some(Published {
            stamp,
            builder,
            outcome,
        })
    }

    /// Publishes a build (written whole, then renamed into place).
    pub fn publish(&self, _turn: &Turn, published: &Published) {
        let (stamp, builder) = (published.stamp.to_string(), published.builder.to_string());
        let mut fields = vec![FORMAT, &stamp, &builder];
        let warnings;
        let artifact;
        match &published.outcome {
            Outcome::Built {
                artifact: path,
                warnings: count,
            } => {
                artifact = path.to_string_lossy().into_owned();
                warnings = count.to_string();
                fields.extend(["built", &artifact, &warnings]);
            }
            Outcome::Failed { rendered } => fields.extend(["failed", rendered]),
        }
        let scratch = self.record.with_extension("published-new");
        let written = fs::write(&scratch, fields.join("\0"))
            .and_then(|()| fs::rename(&scratch, &self.record));
        if let Err(error) = written {
            tracing::debug!("cannot publish the build: {error}");
        }
    }
}

/// Builds `package` in this process's turn, or takes the build another
/// process published for the same sources. Returns the turn too: it is held
/// until the artifact is staged.
pub fn build_or_take(
    config: &BuildConfig,
    package: &Package,
    recipe: &mut Recipe,
    cancel: &Cancel,
) -> (Result<Built, Error>, Option<Turn>) {
    if !package.has_library {
        let package = package.name.clone();
        return (Err(Error::NoLibrary { package }), None);
    }
    let started = std::time::Instant::now();
    let place = Place::new(&config.saved_command(package));
    let turn = place
        .take_turn()
        .inspect_err(|error| tracing::debug!("building without taking turns: {error}"))
        .ok();
    let stamp = build_stamp(package, recipe);
    let published = turn.as_ref().and_then(|turn| place.read(turn));
    match published.filter(|published| published.stamp == stamp && !cancel.cancelled()) {
        Some(Published {
            builder,
            outcome: Outcome::Built { artifact, warnings },
            ..
        }) if artifact.is_file() => {
            tracing::debug!(builder, "took a build another process published");
            // This process's own earlier build (its warm-up) counts as its.
            let built = Built {
                artifact,
                warnings,
                duration: started.elapsed(),
                builder: Some(builder).filter(|&pid| pid != std::process::id()),
            };
            return (Ok(built), turn);
        }
        Some(Published {
            outcome: Outcome::Failed { rendered },
            ..
        }) => {
            let failed = Error::Build {
                package: package.name.clone(),
                rendered,
            };
            return (Err(failed), turn);
        }
        _ => {}
    }
    let result = build::build(config, package, recipe, cancel);
    let outcome = match &result {
        _ if cancel.cancelled() => None,
        Ok(built) => Some(Outcome::Built {
            artifact: built.artifact.clone(),
            warnings: built.warnings,
        }),
        Err(Error::Build { rendered, .. }) => Some(Outcome::Failed {
            rendered: rendered.clone(),
        }),
        Err(_) => None,
    };
    if let (Some(turn), Some(outcome)) = (&turn, outcome) {
        let published = Published {
            stamp,
            builder: std::process::id(),
            outcome,
        };
        place.publish(turn, &published);
    }
    (result, turn)
}

/// What a build of `package` by `recipe` is made from: its files, and for
/// a quick build, what it leaves to the program.
fn build_stamp(package: &Package, recipe: &Recipe) -> Stamp {
    let dir = &package.manifest_dir;
    let files = stamp(
        &[dir.join("src")],
        &[dir.join("Cargo.toml"), dir.join("build.rs")],
    );
    // A quick build is another build of the same sources: only a process
    // that would leave the same functions to its program can take it.
    let Some(plan) = &recipe.quick else {
        return files;
    };
    let mut hasher = LayoutHasher::default();
    hasher.number(files as usize);
    hasher.tag(&plan.thin);
    hasher.number(usize::from(plan.pruned.is_some()));
    hasher.finish()
}

/// The stamp of the files under `roots` (each recursively) and `files`.
pub fn stamp(roots: &[PathBuf], files: &[PathBuf]) -> Stamp {
    let mut hasher = LayoutHasher::default();
    let mut paths: Vec<PathBuf> = files.to_vec();
    for root in roots {
        collect(root, &mut paths);
    }
    paths.sort();
    for path in paths {
        hasher.tag(&path.to_string_lossy());
        if let Ok(meta) = fs::metadata(&path) {
            let modified = meta
                .modified()
                .ok()
                .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
                .unwrap_or_default();
            hasher.write(&meta.len().to_le_bytes());
            hasher.write(&modified.as_nanos().to_le_bytes());
        }
    }
    hasher.finish()
}

fn collect(dir: &Path, paths: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => collect(&path, paths),
            Ok(_) => paths.push(path),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_build_is_read_back_by_the_next_turn() {
        let dir = tempfile::tempdir().unwrap();
        let place = Place::new(&dir.path().join("hotreload/logic/rustc-dev-host-1"));
        let turn = place.take_turn().unwrap();
        assert_eq!(place.read(&turn), None);
        let built = Published {
            stamp: 7,
            builder: 42,
            outcome: Outcome::Built {
                artifact: "/t/liblogic-1.so".into(),
                warnings: 2,
            },
        };
        place.publish(&turn, &built);
        drop(turn);
        let turn = place.take_turn().unwrap();
        assert_eq!(place.read(&turn), Some(built));
        let failed = Published {
            stamp: 8,
            builder: 43,
            outcome: Outcome::Failed {
                rendered: "error: expected `;`\n --> src/lib.rs:1:1".into(),
            },
        };
        place.publish(&turn, &failed);
        assert_eq!(place.read(&turn), Some(failed));
    }

    #[test]
    fn the_stamp_follows_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("rules")).unwrap();
        fs::write(src.join("lib.rs"), "pub mod rules;").unwrap();
        fs::write(src.join("rules/mod.rs"), "").unwrap();
        let roots = [src.clone()];
        let first = stamp(&roots, &[]);
        assert_eq!(stamp(&roots, &[]), first);
        fs::write(src.join("rules/mod.rs"), "pub fn a() {}").unwrap();
        assert_ne!(stamp(&roots, &[]), first);
    }

    #[test]
    fn a_turn_waits_for_the_one_before() {
        let dir = tempfile::tempdir().unwrap();
        let place = Place::new(&dir.path().join("rustc-dev-host-1"));
        let first = place.take_turn().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiting = place.clone();
        let thread = std::thread::spawn(move || {
            // flock locks are per open file: another open waits too.
            let turn = waiting.take_turn().unwrap();
            tx.send(()).unwrap();
            drop(turn);
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err(),
            "the second turn came while the first was held"
        );
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the second turn after the first");
        thread.join().unwrap();
    }
}
