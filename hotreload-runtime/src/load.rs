//! Stage 4, load: maps a staged build with `dlopen` and reads its manifest.
//!
//! A build that is refused before any of its code ran is closed again
//! ([`close`]); one that goes live is taken over by the apply stage's
//! `generations`, which keeps it loaded (or unloads it when nothing can
//! use it any more, if the program asked for that).

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::MetadataExt;

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

use crate::Error;
#[cfg(any(feature = "log", feature = "tracing"))]
use crate::forward;
use crate::registry::{MANIFEST_SYMBOL, Manifest};
use crate::report::OwnStatic;
use crate::stage::Staged;

/// A loaded build.
pub struct Loaded {
    library: Option<Library>,
    staged: Option<Staged>,
    pub manifest: Manifest,
}

impl Loaded {
    /// Hands the build's `log` records and `tracing` events to the
    /// program's logger and dispatcher (see `hotreload_core::forward`), if
    /// this runtime has those features and the build exports the hooks.
    pub fn forward_logging(&self) {
        let Some(library) = &self.library else {
            return;
        };
        #[cfg(feature = "log")]
        {
            type Install = fn(&'static dyn log::Log, log::LevelFilter);
            // SAFETY: the symbol, if present, is core's installer with this
            // signature (the same core version: the manifest was checked),
            // and `log` is one rlib on both sides.
            if let Ok(install) = unsafe { library.get::<Install>(forward::LOG_SYMBOL) } {
                install(log::logger(), log::max_level());
            }
        }
        #[cfg(feature = "tracing")]
        {
            type Install = fn(forward::WithHostDispatch);
            fn with_host_dispatch(f: &mut dyn FnMut(&tracing_core::Dispatch)) {
                tracing_core::dispatcher::get_default(|dispatch| f(dispatch));
            }
            // SAFETY: as for `log`, with `tracing-core`.
            if let Ok(install) = unsafe { library.get::<Install>(forward::TRACING_SYMBOL) } {
                install(with_host_dispatch);
            }
        }
        let _ = library;
    }

    /// See [`Staged::own_statics`]: those of the crates whose hot
    /// functions the build has (the package's own; not those of the crates
    /// linked into it with it, such as `tracing-core` for the core crate's
    /// forwarding, which are not the user's to share).
    pub fn own_statics(&self) -> Vec<OwnStatic> {
        fn krate(path: &str) -> &str {
            path.split("::").next().unwrap_or(path)
        }
        let entries = self.manifest.entries.iter().map(|entry| krate(entry.path));
        let thin = self.manifest.thin.iter().map(|thin| krate(thin.path));
        let crates: HashSet<&str> = entries.chain(thin).collect();
        let Some(staged) = &self.staged else {
            return Vec::new();
        };
        (staged.own_statics.iter())
            .filter(|own| crates.contains(krate(&own.path)))
            .cloned()
            .collect()
    }

    /// The library, its staged file, manifest and why it must never be
    /// unloaded: for the apply stage, which keeps it (its code is about to
    /// be called).
    pub fn keep(mut self) -> (Library, File, Manifest, Option<String>) {
        let library = self.library.take().expect("open until kept");
        let staged = self.staged.take().expect("open until kept");
        (library, staged.file, self.manifest, staged.pinned)
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        // Refused: none of its code ran.
        if let (Some(library), Some(staged)) = (self.library.take(), self.staged.take()) {
            // SAFETY: refused before any of its code ran as hot code (only
            // its initializers), and its manifest goes with it.
            let _ = unsafe { close(library, staged.file) };
        }
    }
}

/// The dynamic loader's own words (libloading keeps them as the error's
/// source), and what to do when they name a symbol nothing defines.
fn dlopen_message(error: &libloading::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    if let Some((_, symbol)) = message.rsplit_once("undefined symbol: ") {
        let symbol = symbol.split_whitespace().next().unwrap_or(symbol);
        message.push_str(&format!(
            ". The new code needs `{symbol}`, which the running program does not contain (its \
             link leaves out what nothing in it uses) and no library shared with it provides \
             (a second copy of C code would not share the program's state). Restart the \
             program: built from the new code, it contains it"
        ));
    }
    message
}

/// Closes `library`, then its staged `file` if the library is gone from
/// this process's memory map. Otherwise the file stays open for good: its
/// `/proc/<pid>/fd/<n>` name is glibc's key for the library it still has,
/// and another build under that name would be taken for it.
///
/// # Safety
/// No code of the library may run or be entered after this (no slot
/// points into it, no call or future of it is alive), and nothing borrowed
/// from it (its manifest's `'static` data) may be used after.
pub unsafe fn close(library: Library, file: File) -> Result<(), String> {
    let why = match (library.close(), still_mapped(&file)) {
        (Ok(()), Ok(false)) => return Ok(()),
        (Err(error), _) => format!("dlclose failed: {error}"),
        (_, Err(error)) => format!("cannot read /proc/self/maps: {error}"),
        (Ok(()), Ok(true)) => "dlclose left it mapped".to_string(),
    };
    std::mem::forget(file);
    Err(why)
}

/// Whether any part of `file` is mapped into this process.
fn still_mapped(file: &File) -> std::io::Result<bool> {
    let meta = file.metadata()?;
    let device = format!(
        "{:02x}:{:02x}",
        libc::major(meta.dev()),
        libc::minor(meta.dev())
    );
    let inode = meta.ino().to_string();
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    Ok(maps.lines().any(|line| {
        let mut fields = line.split_whitespace().skip(3);
        fields.next() == Some(device.as_str()) && fields.next() == Some(inode.as_str())
    }))
}

/// Loads a staged build and reads its manifest.
///
/// # Safety
/// `staged` must be a copy of a build of the user's package made by this
/// program's toolchain and build settings (here, or by another process of
/// the same program that published it for the same sources in the shared
/// target directory): loading runs its initializers, and its manifest is
/// read as this runtime's type before [`verify`](crate::verify) checks it.
pub unsafe fn load(staged: Staged, package: &str) -> Result<Loaded, Error> {
    let path = staged.path.clone();
    // SAFETY: the caller vouches for the library (its initializers run
    // here); RTLD_LOCAL keeps its symbols (its own copy of the core crate,
    // of its dependencies) from interposing on the host's.
    let opened = unsafe { Library::open(Some(&path), RTLD_NOW | RTLD_LOCAL) };
    let library = match opened {
        Ok(library) => library,
        Err(error) => {
            return Err(Error::Load {
                package: package.to_string(),
                path,
                message: dlopen_message(&error),
            });
        }
    };
    let mut loaded = Loaded {
        library: Some(library),
        staged: Some(staged),
        manifest: Manifest::current(),
    };
    // SAFETY: the symbol, if present, was defined by a hotreload-core whose
    // `Manifest` has this layout and signature: the manifest layout's
    // version is part of the symbol's name (`MANIFEST_SYMBOL`). The
    // runtime version inside is compared by `verify`.
    let manifest = unsafe {
        let library = loaded.library.as_ref().expect("just opened");
        let exported = library
            .get::<extern "C" fn() -> Manifest>(MANIFEST_SYMBOL)
            .map_err(|e| Error::NoManifest {
                package: package.to_string(),
                message: e.to_string(),
            })?;
        exported()
    };
    loaded.manifest = manifest;
    Ok(loaded)
}
