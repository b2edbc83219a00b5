//! Stage 4, load: maps a staged build with `dlopen` and reads its manifest.
//!
//! Loaded libraries are never closed: code from a generation can be on
//! another thread's stack or referenced from the program's data (a vtable, a
//! function pointer), and Rust thread-locals with destructors make
//! `dlclose` a no-op anyway. A generation refused before any of its code
//! ran is closed again.

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

use crate::Error;
use crate::registry::{MANIFEST_SYMBOL, Manifest};
use crate::stage::Staged;

/// A loaded build.
pub struct Loaded {
    library: Option<Library>,
    pub manifest: Manifest,
}

impl Loaded {
    /// Keeps the library mapped for the rest of the process: its code is
    /// about to be called.
    pub fn keep(mut self) -> Manifest {
        if let Some(library) = self.library.take() {
            std::mem::forget(library);
        }
        self.manifest
    }
}

/// Loads a staged build and reads its manifest.
///
/// # Safety
/// `staged` must be a copy of a library built by the runtime's own cargo
/// invocation from the user's package: loading runs its initializers.
pub unsafe fn load(staged: &Staged, package: &str) -> Result<Loaded, Error> {
    let path = &staged.path;
    staged.check()?;
    // SAFETY: the caller vouches for the library (its initializers run
    // here); RTLD_LOCAL keeps its symbols (its own copy of the core crate,
    // of its dependencies) from interposing on the host's.
    let library =
        unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map_err(|e| Error::Load {
            package: package.to_string(),
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    // The file mapped is the file checked (a swap between the check and
    // `dlopen` would show here; the library is then closed unused).
    staged.check()?;
    // SAFETY: the symbol, if present, was defined by a hotreload-core whose
    // `Manifest` has this layout and signature: the manifest layout's
    // version is part of the symbol's name (`MANIFEST_SYMBOL`). The
    // runtime version inside is compared by `verify`.
    let manifest = unsafe {
        let exported = library
            .get::<extern "C" fn() -> Manifest>(MANIFEST_SYMBOL)
            .map_err(|e| Error::NoManifest {
                package: package.to_string(),
                message: e.to_string(),
            })?;
        exported()
    };
    Ok(Loaded {
        library: Some(library),
        manifest,
    })
}
