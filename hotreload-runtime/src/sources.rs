//! The package's Rust sources as the program has them: every file under
//! its `src/`, read once in `Reloader::start` (before any edit the user
//! makes after it), with whether it changed after the executable was
//! built. What the quick build's planner (`build::quick`) and the
//! type-definition check (`verify::types`) start from.

use std::path::{Path, PathBuf};

/// Each file of a package's `src/`, its text, and whether it changed
/// after the executable was built.
pub struct Snapshot {
    /// The package's `src/`.
    pub src: PathBuf,
    /// Each file, its text, and whether it changed after the executable
    /// was built.
    pub files: Vec<(PathBuf, String, bool)>,
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
        let files = files
            .into_iter()
            .map(|file| {
                let modified = std::fs::metadata(&file).and_then(|meta| meta.modified());
                let newer =
                    modified.is_ok_and(|modified| built.is_none_or(|built| modified > built));
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                (file, text, newer)
            })
            .collect();
        Snapshot { src, files }
    }
}

/// Every `.rs` file under `dir`.
pub fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}
