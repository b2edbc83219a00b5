//! [`Package`]: a package that holds hot functions, as the registry names
//! it, and what its files say about how to build it.

use std::path::{Path, PathBuf};

use crate::build::cargo_json;

/// A package that holds hot functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub manifest_dir: PathBuf,
    /// `--features` value that turns on the runtime's `reload` feature (and
    /// `log`, `tracing`, if the program's runtime has them) for this
    /// package's build (`hotreload-runtime/reload`, or the renamed
    /// dependency's key), found by [`Package::find_runtime_feature`].
    pub runtime_feature: Option<String>,
    /// Whether it has a library target (the only target a hot build
    /// rebuilds); `true` until [`Package::find_runtime_feature`] read its
    /// metadata.
    pub has_library: bool,
}

impl Package {
    pub fn new(name: &str, manifest_dir: &Path) -> Package {
        Package {
            name: name.to_string(),
            manifest_dir: manifest_dir.to_path_buf(),
            runtime_feature: None,
            has_library: true,
        }
    }

    /// A number for this copy of the package: checkouts may share a target
    /// directory, and what is kept there per copy is named with it.
    pub fn copy_id(&self) -> u64 {
        hotreload_core::fnv::hash(self.manifest_dir.as_os_str().as_encoded_bytes())
    }

    /// Whether a change of `paths` needs cargo for the next build: anything
    /// but Rust sources under `src/` (a manifest, a build script) may change
    /// what cargo passes to rustc.
    pub fn needs_cargo(&self, paths: &[PathBuf]) -> bool {
        let src = self.manifest_dir.join("src");
        !paths
            .iter()
            .all(|path| path.starts_with(&src) && path.extension().is_some_and(|e| e == "rs"))
    }

    /// Built alone, a library gets only its own features: if the binary,
    /// not the library, turned on `hotreload-runtime/reload`, the hot build
    /// would have plain functions. So the hot build asks for the feature
    /// whenever the package names the runtime as a direct dependency. Also
    /// reads whether the package has a library at all.
    pub fn find_runtime_feature(&mut self, cargo: &Path) {
        let manifest = self.manifest_dir.join("Cargo.toml");
        let metadata = match cargo_json::metadata(cargo, &manifest, &["--no-deps"]) {
            Ok(metadata) => metadata,
            Err(error) => {
                tracing::warn!("cannot read the metadata of `{}`: {error}", self.name);
                return;
            }
        };
        let this = || (metadata.packages.iter()).filter(|package| package.name == self.name);
        self.has_library = this().next().is_none_or(|package| {
            (package.targets.iter())
                .any(|target| target.kind.iter().any(|kind| kind.ends_with("lib")))
        });
        self.runtime_feature = this()
            .flat_map(|package| &package.dependencies)
            .find(|dependency| dependency.name == "hotreload-runtime")
            .map(|dependency| {
                let key = dependency.rename.as_deref().unwrap_or("hotreload-runtime");
                // The program's runtime has these; so must the build's.
                let features = ["reload"]
                    .into_iter()
                    .chain(cfg!(feature = "log").then_some("log"))
                    .chain(cfg!(feature = "tracing").then_some("tracing"));
                features
                    .map(|feature| format!("{key}/{feature}"))
                    .collect::<Vec<_>>()
                    .join(",")
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rust_sources_under_src_skip_cargo() {
        let package = Package::new("logic", Path::new("/ws/logic"));
        assert!(!package.needs_cargo(&["/ws/logic/src/rules/mod.rs".into()]));
        assert!(
            package.needs_cargo(&["/ws/logic/src/lib.rs".into(), "/ws/logic/Cargo.toml".into()])
        );
        assert!(package.needs_cargo(&["/ws/logic/build.rs".into()]));
        assert!(package.needs_cargo(&["/ws/logic/src/data.json".into()]));
    }
}
