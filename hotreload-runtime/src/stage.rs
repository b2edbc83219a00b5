//! Stage 3, stage: copies each build to its own new file in a private
//! directory before it is loaded.
//!
//! Never load the file cargo writes: the next build overwrites it while the
//! old one is mapped (a crash), and `dlopen` of a path it has already seen
//! returns the old library. A fresh name per generation avoids both; a
//! 0700 directory owned by us keeps other users from swapping the file
//! between the copy and the load.
//!
//! Checked on the way: the artifact belongs to this user and no other user
//! can write it (`HOT022`), and it is a whole library for this platform
//! (`HOT023`; `dlopen` of a truncated file dies of SIGBUS instead of
//! failing). The staged copy stays open; [`Staged::check`] confirms right
//! before and after `dlopen` that its path still names that same file.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::Error;

/// The private directory that holds every staged generation.
pub struct Staging {
    dir: tempfile::TempDir,
}

impl Staging {
    /// Creates `hotreload-XXXXXX` in the system temporary directory, mode
    /// 0700, and checks that it is ours and private.
    pub fn new() -> Result<Staging, Error> {
        let dir = tempfile::Builder::new()
            .prefix("hotreload-")
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(|e| Error::Staging(e.to_string()))?;
        let staging = Staging { dir };
        staging.check().map_err(Error::Staging)?;
        Ok(staging)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn check(&self) -> Result<(), String> {
        let meta = fs::symlink_metadata(self.path()).map_err(|e| e.to_string())?;
        let uid = effective_uid();
        if !meta.is_dir() || meta.mode() & 0o077 != 0 || meta.uid() != uid {
            return Err(format!(
                "`{}` is not a private directory of this user (mode {:o})",
                self.path().display(),
                meta.mode() & 0o777
            ));
        }
        Ok(())
    }

    /// Copies `artifact` to a new file for `generation`, after checking that
    /// it is ours, not writable by others, and a whole library for this
    /// platform.
    pub fn stage(&self, artifact: &Path, package: &str, generation: u64) -> Result<Staged, Error> {
        let name = artifact
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("lib{package}{}", std::env::consts::DLL_SUFFIX));
        let path = self.path().join(format!("{generation:04}-{name}"));
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
        check_library(&bytes).map_err(|reason| Error::Damaged {
            package: package.to_string(),
            path: artifact.to_path_buf(),
            reason,
        })?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .open(&path)
            .map_err(|e| io_error(&path, "create the staged copy", e))?;
        // No fsync: `dlopen` reads the page cache, and a crash loses only
        // a copy that is remade on the next save.
        file.write_all(&bytes)
            .map_err(|e| io_error(&path, "write the staged copy", e))?;
        let meta = file
            .metadata()
            .map_err(|e| io_error(&path, "read its metadata", e))?;
        Ok(Staged {
            path,
            package: package.to_string(),
            _file: file,
            device: meta.dev(),
            inode: meta.ino(),
            len: meta.len(),
        })
    }
}

/// A staged copy, still open: its identity is what [`Staged::check`]
/// compares the path against.
pub struct Staged {
    pub path: PathBuf,
    package: String,
    _file: fs::File,
    device: u64,
    inode: u64,
    len: u64,
}

impl Staged {
    /// Checks that the path still names the very file we wrote, unchanged
    /// and private. Called right before and right after `dlopen`.
    pub fn check(&self) -> Result<(), Error> {
        let untrusted = |reason: String| Error::Untrusted {
            package: self.package.clone(),
            path: self.path.clone(),
            reason,
        };
        let meta = fs::symlink_metadata(&self.path)
            .map_err(|e| untrusted(format!("the staged copy is gone ({e})")))?;
        if (meta.dev(), meta.ino()) != (self.device, self.inode) {
            return Err(untrusted(
                "the staged copy was replaced by another file before it was loaded".into(),
            ));
        }
        if meta.len() != self.len {
            return Err(untrusted(format!(
                "the staged copy changed size ({} bytes written, {} now)",
                self.len,
                meta.len()
            )));
        }
        private_to_us(&meta, 0o022).map_err(untrusted)
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

    fn copy_with_mode(staging: &Staging, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let path = staging.path().join(name);
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn staging_is_private_and_each_generation_gets_a_new_file() {
        let staging = Staging::new().unwrap();
        let mode = fs::metadata(staging.path()).unwrap().mode();
        assert_eq!(mode & 0o777, 0o700);
        let library = fs::read(system_library()).unwrap();
        let source = copy_with_mode(&staging, "libdemo.so", &library, 0o755);
        let one = staging.stage(&source, "demo", 1).unwrap();
        let two = staging.stage(&source, "demo", 2).unwrap();
        assert_ne!(one.path, two.path);
        assert_eq!(fs::read(&one.path).unwrap(), library);
        one.check().unwrap();
        // A generation number is never reused.
        assert!(staging.stage(&source, "demo", 2).is_err());
    }

    #[test]
    fn a_truncated_or_foreign_file_is_damaged() {
        let staging = Staging::new().unwrap();
        let library = fs::read(system_library()).unwrap();
        let half = copy_with_mode(&staging, "half.so", &library[..library.len() / 2], 0o755);
        let error = staging.stage(&half, "demo", 1).err().unwrap();
        assert_eq!(error.code(), "HOT023", "{error}");
        assert!(error.to_string().contains("truncated"), "{error}");
        let text = copy_with_mode(&staging, "text.so", b"not a library", 0o755);
        let error = staging.stage(&text, "demo", 2).err().unwrap();
        assert_eq!(error.code(), "HOT023", "{error}");
    }

    #[test]
    fn a_file_others_can_write_is_refused() {
        let staging = Staging::new().unwrap();
        let library = fs::read(system_library()).unwrap();
        let open = copy_with_mode(&staging, "open.so", &library, 0o757);
        let error = staging.stage(&open, "demo", 1).err().unwrap();
        assert_eq!(error.code(), "HOT022", "{error}");
        assert!(
            error.to_string().contains("other users can write"),
            "{error}"
        );
    }

    #[test]
    fn a_staged_copy_replaced_before_loading_is_refused() {
        let staging = Staging::new().unwrap();
        let library = fs::read(system_library()).unwrap();
        let source = copy_with_mode(&staging, "libdemo.so", &library, 0o755);
        let staged = staging.stage(&source, "demo", 1).unwrap();
        // Another file renamed over the staged path.
        let other = copy_with_mode(&staging, "other.so", &library, 0o700);
        fs::rename(&other, &staged.path).unwrap();
        let error = staged.check().unwrap_err();
        assert_eq!(error.code(), "HOT022", "{error}");
        assert!(error.to_string().contains("replaced"), "{error}");
    }
}
