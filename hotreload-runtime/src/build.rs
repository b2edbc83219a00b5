//! Stage 2, build: rebuilds a package's library as a `cdylib` with the same
//! cargo, target directory, profile and target as the running program,
//! without the user changing `crate-type`.
//!
//! `cargo rustc --lib --crate-type cdylib` is incremental and shares the
//! target directory (`cargo run` does not hold its lock while the program
//! runs). Its JSON messages give the artifact path and the compiler's
//! rendered diagnostics; cargo's human output is never parsed.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cargo_metadata::Message;

use crate::Error;

/// A package that holds hot functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub manifest_dir: PathBuf,
    /// `--features` value that turns on the runtime's `reload` feature for
    /// this package's build (`hotreload-runtime/reload`, or the renamed
    /// dependency's key), found by [`Package::find_runtime_feature`].
    pub runtime_feature: Option<String>,
}

impl Package {
    /// Built alone, a library gets only its own features: if the binary,
    /// not the library, turned on `hotreload-runtime/reload`, the hot build
    /// would have plain functions. So the hot build asks for the feature
    /// whenever the package names the runtime as a direct dependency.
    pub fn find_runtime_feature(&mut self, cargo: &Path) {
        let metadata = cargo_metadata::MetadataCommand::new()
            .cargo_path(cargo)
            .manifest_path(self.manifest_dir.join("Cargo.toml"))
            .no_deps()
            .exec();
        let metadata = match metadata {
            Ok(metadata) => metadata,
            Err(error) => {
                tracing::warn!("cannot read the metadata of `{}`: {error}", self.name);
                return;
            }
        };
        self.runtime_feature = metadata
            .packages
            .iter()
            .filter(|package| package.name.as_str() == self.name)
            .flat_map(|package| &package.dependencies)
            .find(|dependency| dependency.name == "hotreload-runtime")
            .map(|dependency| {
                let key = dependency.rename.as_deref().unwrap_or("hotreload-runtime");
                format!("{key}/reload")
            });
    }
}

/// How the running program was built, so the hot build matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildConfig {
    pub cargo: PathBuf,
    pub target_dir: PathBuf,
    /// Cargo profile name (`dev`, `release`, or a custom one).
    pub profile: String,
    /// `--target` triple, if the program was cross-built.
    pub target: Option<String>,
}

impl BuildConfig {
    /// Reads the configuration from where the running executable sits:
    /// `<target-dir>/[<triple>/]<profile-dir>/[deps|examples/]<name>`, the
    /// target directory being the nearest ancestor with cargo's
    /// `CACHEDIR.TAG`.
    pub fn of_running_program() -> Result<BuildConfig, Error> {
        let exe = std::env::current_exe().map_err(|_| Error::TargetDir {
            exe: PathBuf::from("<unknown executable>"),
        })?;
        let cargo = std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from);
        BuildConfig::from_executable(&exe, cargo)
    }

    pub fn from_executable(exe: &Path, cargo: PathBuf) -> Result<BuildConfig, Error> {
        let error = || Error::TargetDir {
            exe: exe.to_path_buf(),
        };
        let exe_dir = exe.parent().ok_or_else(error)?;
        let target_dir = exe_dir
            .ancestors()
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
            .ok_or_else(error)?;
        let parts: Vec<String> = exe_dir
            .strip_prefix(target_dir)
            .map_err(|_| error())?
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        // A triple has at least two dashes; profile directories have none
        // by cargo's rules for profile names... except custom ones, which
        // may, so only a first part that is followed by another counts.
        let (target, rest) = match parts.as_slice() {
            [first, rest @ ..] if !rest.is_empty() && first.matches('-').count() >= 2 => {
                (Some(first.clone()), rest)
            }
            all => (None, all),
        };
        let profile_dir = rest.first().ok_or_else(error)?;
        let profile = match profile_dir.as_str() {
            "debug" => "dev".to_string(),
            other => other.to_string(),
        };
        Ok(BuildConfig {
            cargo,
            target_dir: target_dir.to_path_buf(),
            profile,
            target,
        })
    }

    /// Checks that cargo starts at all, so `Reloader::start()` can say so
    /// instead of every later build failing.
    pub fn check_cargo(&self) -> Result<(), Error> {
        Command::new(&self.cargo)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(drop)
            .map_err(|source| Error::CargoMissing {
                cargo: self.cargo.clone(),
                source,
            })
    }

    /// The cargo invocation that builds `package` as a cdylib.
    pub fn command(&self, package: &Package) -> Command {
        let mut command = Command::new(&self.cargo);
        command
            .arg("rustc")
            .arg("--manifest-path")
            .arg(package.manifest_dir.join("Cargo.toml"))
            .args(["--lib", "--crate-type", "cdylib"])
            .arg("--message-format")
            .arg(if color() {
                "json-diagnostic-rendered-ansi"
            } else {
                "json"
            })
            .arg("--target-dir")
            .arg(&self.target_dir)
            .args(["--profile", &self.profile]);
        if let Some(target) = &self.target {
            command.args(["--target", target]);
        }
        if let Some(feature) = &package.runtime_feature {
            command.args(["--features", feature]);
        }
        command
            .current_dir(&package.manifest_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }
}

/// Colored diagnostics when the user reads them in a terminal.
fn color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// The library target built as a cdylib (not a build script).
fn is_hot_library(target: &cargo_metadata::Target) -> bool {
    target.crate_types.iter().any(|t| t.to_string() == "cdylib")
        && !target.kind.iter().any(|k| k.to_string() == "custom-build")
}

/// A finished build.
#[derive(Debug)]
pub struct Built {
    /// The cdylib as cargo wrote it (never loaded from there: see `stage`).
    pub artifact: PathBuf,
    /// Compiler warnings in this build.
    pub warnings: usize,
    pub duration: Duration,
}

/// Runs the build and waits for it.
pub fn build(config: &BuildConfig, package: &Package) -> Result<Built, Error> {
    let started = Instant::now();
    let mut child = config
        .command(package)
        .spawn()
        .map_err(|source| Error::CargoMissing {
            cargo: config.cargo.clone(),
            source,
        })?;
    // Drain stderr on its own thread so a chatty cargo cannot block on a
    // full pipe while we read stdout.
    let stderr = child.stderr.take().map(|mut stderr| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        })
    });
    let mut artifact = None;
    let mut warnings = 0;
    let mut errors = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
            match message {
                Message::CompilerArtifact(built) if is_hot_library(&built.target) => {
                    artifact = built
                        .filenames
                        .into_iter()
                        .find(|file| file.as_str().ends_with(std::env::consts::DLL_SUFFIX))
                        .map(PathBuf::from);
                }
                Message::CompilerMessage(message) => {
                    use cargo_metadata::diagnostic::DiagnosticLevel;
                    match message.message.level {
                        DiagnosticLevel::Error | DiagnosticLevel::Ice => {
                            errors.push(message.message.rendered.unwrap_or(message.message.message))
                        }
                        // Cargo replays the cached warnings of other
                        // workspace members; count only this library's.
                        DiagnosticLevel::Warning if is_hot_library(&message.target) => {
                            warnings += 1
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
    let status = child.wait().map_err(|source| Error::CargoMissing {
        cargo: config.cargo.clone(),
        source,
    })?;
    let stderr = stderr
        .and_then(|thread| thread.join().ok())
        .unwrap_or_default();
    if !status.success() {
        // Compiler errors come rendered in the JSON; anything else (a broken
        // Cargo.toml, a missing dependency) only on cargo's stderr.
        let rendered = if errors.is_empty() {
            stderr
        } else {
            errors.concat()
        };
        return Err(Error::Build {
            package: package.name.clone(),
            rendered: rendered.trim_end().to_string(),
        });
    }
    let artifact = artifact.ok_or_else(|| Error::NoArtifact {
        package: package.name.clone(),
        detail: stderr.trim().to_string(),
    })?;
    Ok(Built {
        artifact,
        warnings,
        duration: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        )
        .unwrap();
        dir
    }

    fn config(exe: &Path) -> BuildConfig {
        BuildConfig::from_executable(exe, "cargo".into()).unwrap()
    }

    #[test]
    fn profile_and_target_come_from_the_executable_path() {
        let dir = target_dir();
        let root = dir.path();
        let dev = config(&root.join("debug/game"));
        assert_eq!((dev.profile.as_str(), dev.target.as_deref()), ("dev", None));
        assert_eq!(dev.target_dir, root);
        let test = config(&root.join("debug/deps/game-1234"));
        assert_eq!(test.profile, "dev");
        let release = config(&root.join("release/examples/demo"));
        assert_eq!(release.profile, "release");
        let cross = config(&root.join("x86_64-unknown-linux-gnu/fast-dev/game"));
        assert_eq!(cross.profile, "fast-dev");
        assert_eq!(cross.target.as_deref(), Some("x86_64-unknown-linux-gnu"));
    }

    #[test]
    fn an_executable_outside_a_target_dir_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let error =
            BuildConfig::from_executable(&dir.path().join("game"), "cargo".into()).unwrap_err();
        assert_eq!(error.code(), "HOT003");
        assert!(error.to_string().contains("cargo run"), "{error}");
    }
}
