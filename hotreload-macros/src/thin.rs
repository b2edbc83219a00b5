//! Quick builds: the hot functions a direct hot build leaves to the
//! program's code. The reloader lists them in `HOTRELOAD_THIN` (per file,
//! a tab and the lines of the functions whose body did not change since
//! the build that went live; see the runtime's `build/quick`); for those,
//! `#[hot]` emits only the trampoline, calling through the program's slot.
//! Everywhere else (the program's own build, cargo's, an IDE) the variable
//! is unset and every function is expanded in full.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

#[cfg(test)]
thread_local! {
    /// Makes every function thin, for the expansion's tests.
    pub static ALL_THIN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this is a quick build.
pub fn active() -> bool {
    #[cfg(test)]
    if ALL_THIN.with(std::cell::Cell::get) {
        return true;
    }
    proc_macro::is_available() && !thin().is_empty()
}

/// The thin functions of this build: (line, file).
fn thin() -> &'static HashSet<(usize, PathBuf)> {
    static THIN: OnceLock<HashSet<(usize, PathBuf)>> = OnceLock::new();
    THIN.get_or_init(|| {
        let list = std::env::var("HOTRELOAD_THIN").unwrap_or_default();
        let mut thin = HashSet::new();
        for entry in list.lines() {
            let Some((file, lines)) = entry.split_once('\t') else {
                continue;
            };
            for line in lines.split(',').filter_map(|line| line.parse().ok()) {
                thin.insert((line, PathBuf::from(file)));
            }
        }
        thin
    })
}

/// Whether the function named `ident` is to be thin in this build.
pub fn is_thin(ident: &syn::Ident) -> bool {
    #[cfg(test)]
    if ALL_THIN.with(std::cell::Cell::get) {
        return true;
    }
    if !proc_macro::is_available() {
        return false;
    }
    let thin = thin();
    if thin.is_empty() {
        return false;
    }
    let span = ident.span().unwrap();
    // A path mapped with `--remap-path-prefix` (a pruned build's copy of
    // the sources, see the runtime's `build/quick/prune/copy.rs` and
    // `quick_args` in `build/mod.rs`) has no local file: its
    // mapped name is the real file's, relative to the working directory.
    let file = span
        .local_file()
        .unwrap_or_else(|| PathBuf::from(span.file()));
    // Relative to rustc's working directory, which is this process's.
    let file = std::env::current_dir()
        .map(|dir| dir.join(&file))
        .and_then(std::fs::canonicalize)
        .unwrap_or(file);
    thin.contains(&(span.line(), file))
}
