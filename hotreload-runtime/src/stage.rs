//! Stage 3, stage: copies each build to its own new file in a private
//! directory before it is loaded.
//!
//! Never load the file cargo writes: the next build overwrites it while the
//! old one is mapped (a crash), and `dlopen` of a path it has already seen
//! returns the old library. A fresh name per generation avoids both; a
//! 0700 directory owned by us keeps other users from swapping the file
//! between the copy and the load.

use std::fs::{self, OpenOptions};
use std::io;
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
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc_geteuid() };
        if !meta.is_dir() || meta.mode() & 0o077 != 0 || meta.uid() != uid {
            return Err(format!(
                "`{}` is not a private directory of this user (mode {:o})",
                self.path().display(),
                meta.mode() & 0o777
            ));
        }
        Ok(())
    }

    /// Copies `artifact` to a new file for `generation` and returns its path.
    pub fn stage(&self, artifact: &Path, package: &str, generation: u64) -> Result<PathBuf, Error> {
        let name = artifact
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("lib{package}{}", std::env::consts::DLL_SUFFIX));
        let staged = self.path().join(format!("{generation:04}-{name}"));
        let copy = || -> io::Result<()> {
            let mut source = fs::File::open(artifact)?;
            let mut target = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o700)
                .open(&staged)?;
            io::copy(&mut source, &mut target)?;
            target.sync_data()
        };
        copy().map_err(|e| Error::Load {
            package: package.to_string(),
            path: artifact.to_path_buf(),
            message: format!("cannot copy it to the staging directory: {e}"),
        })?;
        Ok(staged)
    }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_is_private_and_each_generation_gets_a_new_file() {
        let staging = Staging::new().unwrap();
        let mode = fs::metadata(staging.path()).unwrap().mode();
        assert_eq!(mode & 0o777, 0o700);
        let source = staging.path().join("libdemo.so");
        fs::write(&source, b"first").unwrap();
        let one = staging.stage(&source, "demo", 1).unwrap();
        fs::write(&source, b"second").unwrap();
        let two = staging.stage(&source, "demo", 2).unwrap();
        assert_ne!(one, two);
        assert_eq!(fs::read(&one).unwrap(), b"first");
        assert_eq!(fs::read(&two).unwrap(), b"second");
        // A generation number is never reused.
        assert!(staging.stage(&source, "demo", 2).is_err());
    }
}
