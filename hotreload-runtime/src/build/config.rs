//! [`BuildConfig`]: how the running program was built (cargo, target
//! directory, profile, target), so that hot builds match it, and the extra
//! rustc flags that make them fast.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Error;
use crate::build::package::Package;

/// Keeps debug info out of the link: with the runtime in it, the link takes
/// objects from the runtime's dependencies, because a debug build shares
/// generic code (the user's `drop_in_place::<String>` binds to the copy
/// some dependency of the runtime exports), and their debug info came to
/// 18 MB and +100 ms per build in the `deps` benchmark. `strip` does not
/// touch the incremental cache. Direct builds that name stand-ins in place
/// of every crate that brings the runtime drop it (see `build::STAND_INS`).
pub const STRIP: &str = "strip=debuginfo";

/// The incremental caches of hot builds, in the package's hot directory:
/// cargo's (an rlib) and direct builds' (a cdylib). Not cargo's own cache:
/// the program's build has the same crate identity and other flags, and
/// each would throw the other's away.
pub const CARGO_INCREMENTAL: &str = "incremental-cargo";
pub const DIRECT_INCREMENTAL: &str = "incremental-direct";
/// The incremental cache of pruned quick builds (another crate's worth of
/// sources than the full one's: see `crate::build::quick::prune`).
pub const QUICK_INCREMENTAL: &str = "incremental-quick";

/// How the running program was built, so the hot build matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildConfig {
    pub cargo: PathBuf,
    pub target_dir: PathBuf,
    /// Cargo profile name (`dev`, `release`, or a custom one).
    pub profile: String,
    /// `--target` triple, if the program was cross-built.
    pub target: Option<String>,
    /// Extra rustc flags for the hot build, found by
    /// [`BuildConfig::find_hot_flags`].
    pub hot_flags: Vec<String>,
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
            hot_flags: Vec::new(),
        })
    }

    /// Chooses the rustc flags that make the hot build faster:
    ///
    /// - `-C prefer-dynamic`: `std` as the toolchain's shared library
    ///   (found through an rpath) instead of copied into every build;
    /// - `-C debuginfo=line-tables-only`: backtraces through reloaded code
    ///   keep file and line, at a fraction of full debug info's cost
    ///   (`HOTRELOAD_DEBUGINFO=1` keeps the profile's, for a debugger);
    /// - the linker's `-O0`: no merging of identical strings across the
    ///   inputs, about 5 ms less per link (the output is a little larger).
    pub fn find_hot_flags(&mut self, package_dir: &Path) {
        let mut flags = vec!["-C".to_string(), "link-arg=-Wl,-O0".to_string()];
        if std::env::var_os("HOTRELOAD_DEBUGINFO").is_none_or(|v| v == "0") {
            flags.extend(["-C", "debuginfo=line-tables-only", "-C", STRIP].map(String::from));
        }
        match self.std_library_dir(package_dir) {
            Some(dir) => {
                flags.extend(["-C", "prefer-dynamic", "-C"].map(String::from));
                flags.push(format!("link-arg=-Wl,-rpath,{}", dir.display()));
            }
            None => tracing::debug!("no shared std in the toolchain; linking it statically"),
        }
        self.hot_flags = flags;
    }

    /// The toolchain's library directory, if it holds a shared `std`.
    fn std_library_dir(&self, package_dir: &Path) -> Option<PathBuf> {
        // The rustc next to this cargo, as cargo itself would pick it.
        let rustc = std::env::var_os("RUSTC")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let sibling = self.cargo.with_file_name("rustc");
                if self.cargo.is_absolute() && sibling.is_file() {
                    sibling
                } else {
                    PathBuf::from("rustc")
                }
            });
        let mut command = Command::new(rustc);
        command.args(["--print", "target-libdir"]);
        if let Some(target) = &self.target {
            command.args(["--target", target]);
        }
        let output = command
            .current_dir(package_dir)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let dir = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
        let has_std = std::fs::read_dir(&dir).ok()?.flatten().any(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with("libstd-") && name.ends_with(std::env::consts::DLL_SUFFIX)
        });
        has_std.then_some(dir)
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

    /// Where hot builds of `package` keep their own files: the shared
    /// dependencies ([`crate::build::dylib`]) and the saved rustc command.
    pub fn hot_dir(&self, package: &Package) -> PathBuf {
        self.target_dir.join("hotreload").join(&package.name)
    }

    /// The saved rustc command of `package` for this profile and target
    /// (and this copy of the package: checkouts may share a target dir).
    pub fn saved_command(&self, package: &Package) -> PathBuf {
        let target = self.target.as_deref().unwrap_or("host");
        self.hot_dir(package).join(format!(
            "rustc-{}-{target}-{:016x}",
            self.profile,
            package.copy_id()
        ))
    }

    /// The cargo invocation that builds `package`'s library, with JSON
    /// messages on stdout and, with `-vv`, the rustc command it runs on
    /// stderr: what direct builds rerun, as a cdylib (see `build`).
    ///
    /// It builds the library as the program's build does (an rlib), not
    /// `--crate-type cdylib`: the unit then has the same `-C metadata` as
    /// the program's, so the same crate identity (the `TypeId`s of the
    /// package's types agree with the program's), only other output names
    /// (the extra arguments) and its own incremental cache.
    pub fn cargo_command(&self, package: &Package) -> Command {
        let mut command = Command::new(&self.cargo);
        command
            .args(["rustc", "-vv"])
            .arg("--manifest-path")
            .arg(package.manifest_dir.join("Cargo.toml"))
            .arg("--lib")
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
            .args(["--", "-C"])
            .arg(format!(
                "incremental={}",
                self.hot_dir(package).join(CARGO_INCREMENTAL).display()
            ))
            .args(&self.hot_flags);
        command.current_dir(&package.manifest_dir);
        command
    }
}

/// Colored diagnostics when the user reads them in a terminal: as cargo
/// decides, `CARGO_TERM_COLOR=always|never` first, then `NO_COLOR`.
pub fn color() -> bool {
    use std::io::IsTerminal;
    match std::env::var("CARGO_TERM_COLOR").as_deref() {
        Ok("always") => true,
        Ok("never") => false,
        _ => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
    }
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

    #[test]
    fn the_saved_command_is_named_the_same_in_every_run() {
        let config = config(&target_dir().path().join("debug/game"));
        let package = Package::new("logic", Path::new("/ws/logic"));
        let name = config.saved_command(&package);
        // FNV-1a of "/ws/logic": a value that does not change with the
        // Rust version (DefaultHasher's may).
        assert!(
            name.ends_with("hotreload/logic/rustc-dev-host-39fbeddb2654d791"),
            "{}",
            name.display()
        );
        let copy = Package::new("logic", Path::new("/ws2/logic"));
        assert_ne!(config.saved_command(&copy), name);
    }
}
