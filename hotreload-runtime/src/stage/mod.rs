//! Stage 3, stage: copies each build to a file of its own, with no name,
//! before it is loaded.
//!
//! Never load the file cargo writes: the next build overwrites it while the
//! old one is mapped (a crash), and `dlopen` of a path it has already seen
//! returns the old library. Each generation is copied into an unnamed file
//! (`O_TMPFILE` in the temporary directory, or a file in a private 0700
//! directory unlinked at once where the file system cannot), kept open
//! while the library is mapped and loaded as `/proc/<pid>/fd/<n>`: nothing
//! can swap it between the copy and the load, every generation has a name
//! of its own, backtraces still read its line tables through that path, and
//! nothing is left behind when the process ends, even by `kill -9`. The
//! name has the pid, not `self`: a debugger or profiler reads the loaded
//! libraries' names and opens them in its own process, where
//! `/proc/<pid>/fd/<n>` is one of its own files (gdb blocked reading a pipe
//! of its own).
//!
//! With `HOTRELOAD_NAMED_BUILDS=1`, each build is staged to a file with a
//! name instead, in a private directory of this process,
//! `$TMPDIR/hotreload-builds-<pid>/`, and loaded by that name: a sampling
//! profiler (`perf report`) reads the libraries' names after the process
//! ended, when no `/proc/<pid>/fd` name is left. Those files outlive the
//! process; the next process that names its builds removes the
//! directories of processes that are gone.
//!
//! Checked on the way: the artifact belongs to this user and no other user
//! can write it (`HOT022`), and it is a whole library for this platform
//! (`HOT023`; `dlopen` of a truncated file dies of SIGBUS instead of
//! failing).

pub mod one_copy;
mod own_statics;
mod pins;

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::report::OwnStatic;

/// Where staged copies are made.
pub struct Staging {
    dir: PathBuf,
    /// With `HOTRELOAD_NAMED_BUILDS=1`: this process's directory of named
    /// builds, and how many it has staged.
    named: Option<(PathBuf, std::cell::Cell<u64>)>,
}

impl Staging {
    /// Stages into the system temporary directory.
    pub fn new() -> Result<Staging, Error> {
        let dir = std::env::temp_dir();
        if !dir.is_dir() {
            return Err(Error::Staging(format!(
                "the temporary directory `{}` does not exist",
                dir.display()
            )));
        }
        raise_open_files_limit();
        let named = std::env::var_os("HOTRELOAD_NAMED_BUILDS")
            .is_some_and(|value| value == "1")
            .then(|| named_dir(&dir))
            .transpose()
            .map_err(|e| Error::Staging(format!("cannot make a directory for named builds: {e}")))?
            .map(|dir| (dir, std::cell::Cell::new(0)));
        Ok(Staging { dir, named })
    }

    /// Copies `artifact` to a new unnamed file, after checking that it is
    /// ours, not writable by others, and a whole library for this platform.
    pub fn stage(&self, artifact: &Path, package: &str) -> Result<Staged, Error> {
        let untrusted = |reason: String| Error::Untrusted {
            package: package.to_string(),
            path: artifact.to_path_buf(),
            reason,
        };
        let io_error = |path: &Path, what: &str, e: io::Error| Error::Load {
            package: package.to_string(),
            path: path.to_path_buf(),
            message: format!("cannot {what}: {e}"),
        };
        // Read through one handle, checked by fstat: what is checked is
        // what is read.
        let mut source = fs::File::open(artifact).map_err(|e| io_error(artifact, "open it", e))?;
        let meta = source
            .metadata()
            .map_err(|e| io_error(artifact, "read its metadata", e))?;
        private_to_us(&meta, 0o002).map_err(untrusted)?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        source
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(artifact, "read it", e))?;
        self.stage_bytes(bytes, package, artifact, true)
    }

    /// Stages a build's `bytes` (read from `origin`, for messages): checks
    /// that they are a whole library for this platform and, with
    /// `retarget`, points its thread-locals and C names at the program's
    /// (see `one_copy`). Libraries a build needs are staged without it, as
    /// the loader would load them.
    pub fn stage_bytes(
        &self,
        mut bytes: Vec<u8>,
        package: &str,
        origin: &Path,
        retarget: bool,
    ) -> Result<Staged, Error> {
        let io_error = |path: &Path, what: &str, e: io::Error| Error::Load {
            package: package.to_string(),
            path: path.to_path_buf(),
            message: format!("cannot {what}: {e}"),
        };
        check_library(&bytes).map_err(|reason| Error::Damaged {
            package: package.to_string(),
            path: origin.to_path_buf(),
            reason,
        })?;
        if retarget && let Some(program) = one_copy::shared() {
            let retargeted = program.retarget(&mut bytes);
            tracing::debug!(
                retargeted,
                "thread-local relocations pointed at the program's"
            );
        }
        let (mut file, path) = match &self.named {
            Some((dir, count)) => {
                count.set(count.get() + 1);
                let path = dir.join(format!("{package}-{}.so", count.get()));
                let file = private_file(&path)
                    .map_err(|e| io_error(&path, "create the staged copy", e))?;
                (file, path)
            }
            None => {
                let file = self
                    .unnamed_file()
                    .map_err(|e| io_error(&self.dir, "create the staged copy", e))?;
                let pid = std::process::id();
                let path = PathBuf::from(format!("/proc/{pid}/fd/{}", file.as_raw_fd()));
                (file, path)
            }
        };
        // No fsync: `dlopen` reads the page cache, and a crash loses only
        // a copy that is remade on the next save.
        file.write_all(&bytes)
            .map_err(|e| io_error(&self.dir, "write the staged copy", e))?;
        Ok(Staged {
            path,
            file,
            pinned: pins::pinned(&bytes),
            own_statics: if retarget {
                own_statics::own_statics(&bytes)
            } else {
                Vec::new()
            },
        })
    }

    /// A new file readable and writable by us alone, with no name.
    fn unnamed_file(&self) -> io::Result<fs::File> {
        let unnamed = OpenOptions::new()
            .read(true)
            .write(true)
            .mode(0o700)
            .custom_flags(libc::O_TMPFILE)
            .open(&self.dir);
        match unnamed {
            Ok(file) => Ok(file),
            // The file system has no O_TMPFILE: a file in a private
            // directory, unlinked with it at once.
            Err(_) => {
                let dir = tempfile::Builder::new()
                    .prefix("hotreload-")
                    .permissions(fs::Permissions::from_mode(0o700))
                    .tempdir_in(&self.dir)?;
                let path = dir.path().join("staged");
                let file = private_file(&path)?;
                fs::remove_file(&path)?;
                Ok(file)
            }
        }
    }
}

/// A new file at `path`, readable and writable by us alone.
fn private_file(path: &Path) -> io::Result<fs::File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(path)
}

/// This process's directory of named builds in `tmp` (private to us),
/// after removing those of processes that are gone.
fn named_dir(tmp: &Path) -> io::Result<PathBuf> {
    let uid = effective_uid();
    for entry in fs::read_dir(tmp)?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix("hotreload-builds-"))
        else {
            continue;
        };
        let ours = entry.metadata().is_ok_and(|meta| meta.uid() == uid);
        if ours && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    let dir = tmp.join(format!("hotreload-builds-{}", std::process::id()));
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => Ok(dir),
        // Ours from before an `exec` of this process (a restart), if it
        // is a directory only we can use.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            let meta = fs::symlink_metadata(&dir)?;
            if meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0 {
                Ok(dir)
            } else {
                Err(io::Error::other(format!(
                    "`{}` is not ours alone",
                    dir.display()
                )))
            }
        }
        Err(error) => Err(error),
    }
}

/// A staged copy: an open file with no name, loaded by its
/// `/proc/<pid>/fd` path. It stays open for as long as the library loaded
/// from it is mapped (see `load::close`).
pub struct Staged {
    /// `/proc/<pid>/fd/<n>`.
    pub path: PathBuf,
    pub file: fs::File,
    /// Why the build must never be unloaded, if it must not.
    pub pinned: Option<String>,
    /// Statics and thread-locals its code has instances of its own of (a
    /// package's build; none for a library it needs).
    pub own_statics: Vec<OwnStatic>,
}

/// Raises the soft limit of open files to the hard one (as Go's runtime
/// does for every program): each loaded build holds one, and a common soft
/// limit of 1024 would end reloading after about a thousand of them.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write only `limit`. (The limit
    // is the process's, and programs it starts inherit it: see the
    // README's Known problems for C code that uses `select`.)
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            let soft = limit.rlim_cur;
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                tracing::debug!(
                    from = soft,
                    to = limit.rlim_max,
                    "raised the open files limit"
                );
            }
        }
    }
}

/// Checks that the file is a regular file owned by this user without any
/// of the `writable` permission bits.
fn private_to_us(meta: &fs::Metadata, writable: u32) -> Result<(), String> {
    let uid = effective_uid();
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if meta.uid() != uid {
        return Err(format!(
            "it belongs to user {}, not to this user ({uid})",
            meta.uid()
        ));
    }
    if meta.mode() & writable != 0 {
        return Err(format!(
            "other users can write to it (mode {:o})",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// Checks that `bytes` are a whole dynamic library for this platform: a
/// truncated file would be mapped past its end by `dlopen` and kill the
/// program with SIGBUS on first touch.
fn check_library(bytes: &[u8]) -> Result<(), String> {
    use object::{Object, ObjectKind, ObjectSegment};
    let file = object::File::parse(bytes).map_err(|e| {
        format!(
            "truncated or corrupt, not a library this platform can load ({e}; {} bytes)",
            bytes.len()
        )
    })?;
    if file.kind() != ObjectKind::Dynamic {
        return Err(format!("not a dynamic library but {:?}", file.kind()));
    }
    let expected = if cfg!(target_arch = "x86_64") {
        Some(object::Architecture::X86_64)
    } else if cfg!(target_arch = "aarch64") {
        Some(object::Architecture::Aarch64)
    } else {
        None
    };
    if expected.is_some_and(|arch| file.architecture() != arch) {
        return Err(format!("built for {:?}", file.architecture()));
    }
    let len = bytes.len() as u64;
    for segment in file.segments() {
        let (offset, size) = segment.file_range();
        if offset.checked_add(size).is_none_or(|end| end > len) {
            return Err(format!(
                "truncated: a segment ends at byte {}, the file has {len}",
                offset.saturating_add(size)
            ));
        }
    }
    Ok(())
}

/// The user this process acts as.
fn effective_uid() -> u32 {
    // SAFETY: geteuid(2) takes no arguments, touches no memory of ours and
    // cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real shared library of this machine (the C library this test
    /// links), found through the process's own memory map.
    fn system_library() -> PathBuf {
        let maps = fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .filter_map(|line| line.split_whitespace().nth(5))
            .find(|path| path.contains("/libc.so") || path.contains("/libc-"))
            .map(PathBuf::from)
            .expect("libc in /proc/self/maps")
    }

    fn copy_with_mode(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn each_generation_gets_a_file_of_its_own_with_no_name() {
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging {
            dir: dir.path().to_path_buf(),
            named: None,
        };
        let library = fs::read(system_library()).unwrap();
        let source = copy_with_mode(dir.path(), "libdemo.so", &library, 0o755);
        let one = staging.stage(&source, "demo").unwrap();
        let two = staging.stage(&source, "demo").unwrap();
        assert_ne!(one.path, two.path);
        assert_eq!(fs::read(&one.path).unwrap(), library);
        // Nothing but the source is left in the directory.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["libdemo.so"]);
        let mode = fs::metadata(&one.path).unwrap().mode();
        assert_eq!(mode & 0o077, 0, "private: {mode:o}");
    }

    #[test]
    fn a_truncated_or_foreign_file_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging {
            dir: dir.path().to_path_buf(),
            named: None,
        };
        let library = fs::read(system_library()).unwrap();
        let half = copy_with_mode(dir.path(), "half.so", &library[..library.len() / 2], 0o755);
        let error = staging.stage(&half, "demo").err().unwrap();
        assert_eq!(error.code(), "HOT023", "{error}");
        assert!(error.to_string().contains("truncated"), "{error}");
        let text = copy_with_mode(dir.path(), "text.so", b"not a library", 0o755);
        let error = staging.stage(&text, "demo").err().unwrap();
        assert_eq!(error.code(), "HOT023", "{error}");
    }

    #[test]
    fn a_file_others_can_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging {
            dir: dir.path().to_path_buf(),
            named: None,
        };
        let library = fs::read(system_library()).unwrap();
        let open = copy_with_mode(dir.path(), "open.so", &library, 0o757);
        let error = staging.stage(&open, "demo").err().unwrap();
        assert_eq!(error.code(), "HOT022", "{error}");
        assert!(
            error.to_string().contains("other users can write"),
            "{error}"
        );
    }
}
