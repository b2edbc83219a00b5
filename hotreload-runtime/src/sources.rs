//! The package's Rust sources as the program has them: every file under
//! its `src/`, read once in `Reloader::start` (before any edit the user
//! makes after it), with whether it changed after the executable was
//! built. What the quick build's planner (`build::quick`) and the
//! type-definition check (`verify::types`) start from.
//!
//! The program says which sources it was built from: the `#[hot]` macro
//! kept a hash of the package's `src/` as it compiled it
//! (`hotreload_core::registry::BUILT_FROM`). When the files read here hash
//! the same, the program runs exactly them ([`Snapshot::built_from`]).

use std::path::{Path, PathBuf};

use hotreload_core::registry::BUILT_FROM;
use hotreload_syntax::sources;

/// Each file of a package's `src/`, its text, and whether it changed
/// after the executable was built.
pub struct Snapshot {
    /// The package's `src/`.
    pub src: PathBuf,
    /// Each file, its text, and whether it changed after the executable
    /// was built.
    pub files: Vec<(PathBuf, String, bool)>,
    /// The program was built from exactly these files (none changed since,
    /// whatever their times say).
    pub built_from: bool,
}

impl Snapshot {
    /// The text of every `.rs` file under `package_dir/src`, as the
    /// program has it.
    pub fn read(package_dir: &Path) -> Snapshot {
        let src = package_dir.join("src");
        let built = std::fs::metadata("/proc/self/exe")
            .and_then(|meta| meta.modified())
            .ok();
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut files: Vec<(PathBuf, String, bool)> = files
            .into_iter()
            .map(|file| {
                let modified = std::fs::metadata(&file).and_then(|meta| meta.modified());
                let newer =
                    modified.is_ok_and(|modified| built.is_none_or(|built| modified > built));
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                (file, text, newer)
            })
            .collect();
        let hash = sources::hash(
            files
                .iter()
                .map(|(file, text, _)| (sources::relative(&src, file), text.as_bytes())),
        );
        let built_from = BUILT_FROM
            .iter()
            .any(|built| Path::new(built.manifest_dir).join("src") == src && built.sources == hash);
        if built_from {
            for (_, _, newer) in &mut files {
                *newer = false;
            }
        }
        Snapshot {
            src,
            files,
            built_from,
        }
    }
}

pub use hotreload_syntax::sources::rust_files;
