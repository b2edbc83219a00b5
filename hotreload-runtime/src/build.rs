//! Stage 2, build: rebuilds a package's library as a `cdylib` with the same
//! cargo, target directory, profile and target as the running program,
//! without the user changing `crate-type`.
//!
//! `cargo rustc --lib --crate-type cdylib` is incremental and shares the
//! target directory (`cargo run` does not hold its lock while the program
//! runs). Its JSON messages give the artifact path and the compiler's
//! rendered diagnostics.
//!
//! Faster than plain cargo, keeping correctness:
//!
//! - `-C prefer-dynamic` links `std` as the toolchain's shared library
//!   (found through an rpath) instead of copying it into every build.
//! - Dependencies from crates.io or git are linked once, as a shared
//!   library ([`crate::dylib`]), not into every build.
//! - `-C debuginfo=line-tables-only`: backtraces through reloaded code
//!   keep file and line. Direct builds that name the core crate in place
//!   of the runtime ([`Links::runtime`]) keep them; other builds strip
//!   debug info (`-C strip=debuginfo`): with the runtime in the link, it
//!   takes many objects from the runtime's dependencies, because a debug
//!   build shares generic code (the user's `drop_in_place::<String>` binds
//!   to the copy some dependency of the runtime exports), and their debug
//!   info came to 18 MB and +100 ms per build in the `deps` benchmark.
//!   `strip` does not touch the incremental cache. `HOTRELOAD_DEBUGINFO=1`
//!   keeps the profile's debug info (for a debugger).
//! - The linker runs with `-O0` (no merging of duplicate strings): about
//!   5 ms less per link.
//! - cargo runs with `-vv`, and the rustc command it ran for the hot build
//!   (program, arguments, environment) is kept. An edit that only touches
//!   `.rs` files under `src/` then runs that rustc command directly,
//!   skipping cargo's resolution and fingerprinting of every unit (about
//!   50 ms on a small crate). Any other change (`Cargo.toml`, `build.rs`)
//!   goes through cargo again, which captures a fresh command.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use cargo_metadata::Message;

use crate::Error;
use crate::dylib::{self, Dependencies};

/// A package that holds hot functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub manifest_dir: PathBuf,
    /// `--features` value that turns on the runtime's `reload` feature for
    /// this package's build (`hotreload-runtime/reload`, or the renamed
    /// dependency's key), found by [`Package::find_runtime_feature`].
    pub runtime_feature: Option<String>,
    /// The rustc command of the last cargo build, to rerun directly.
    pub rustc: Option<Rustc>,
    /// A change since the last successful cargo build needs cargo (a
    /// manifest, a build script); sticky until cargo succeeds.
    pub cargo_needed: bool,
    /// What direct builds link differently from cargo's build.
    pub links: Links,
    /// The core crate's rlib, from the last cargo build.
    core: Option<PathBuf>,
}

/// What a direct build links differently from cargo's build of the same
/// sources: lighter, same code. A new set is checked by one direct build
/// right after the cargo build (see [`build`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The shared library of crates.io and git dependencies
    /// ([`crate::dylib`]).
    pub dependencies: Option<Dependencies>,
    /// `(extern name, rlib)`: the core crate named in place of the runtime,
    /// so the runtime's own dependencies (the watcher, cargo_metadata,
    /// object: about 40 archives) stay out of the link. `#[hot]` code needs
    /// only what the core crate has (see its docs).
    pub runtime: Option<(String, PathBuf)>,
}

impl Links {
    fn is_empty(&self) -> bool {
        self.dependencies.is_none() && self.runtime.is_none()
    }

    /// Every file is still there.
    fn exist(&self) -> bool {
        self.dependencies.as_ref().is_none_or(Dependencies::exist)
            && self.runtime.as_ref().is_none_or(|(_, rlib)| rlib.is_file())
    }
}

impl Package {
    pub fn new(name: &str, manifest_dir: &Path) -> Package {
        Package {
            name: name.to_string(),
            manifest_dir: manifest_dir.to_path_buf(),
            runtime_feature: None,
            rustc: None,
            cargo_needed: true,
            links: Links::default(),
            core: None,
        }
    }

    /// Notes changed files: anything but Rust sources under `src/` needs
    /// cargo for the next build.
    pub fn changed(&mut self, paths: &[PathBuf]) {
        let src = self.manifest_dir.join("src");
        let rustc_suffices = paths
            .iter()
            .all(|path| path.starts_with(&src) && path.extension().is_some_and(|e| e == "rs"));
        self.cargo_needed |= !rustc_suffices;
    }
}

/// Keeps debug info out of the link: with the runtime in it, the link takes
/// objects from the runtime's dependencies (see [`BuildConfig::find_hot_flags`]).
const STRIP: &str = "strip=debuginfo";

/// First field of a saved rustc command.
const SAVED_FORMAT: &str = "hotreload rustc command v1";

/// A rustc invocation as cargo made it: environment, program (rustc or a
/// `RUSTC_WRAPPER`), arguments and working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rustc {
    env: Vec<(String, String)>,
    pub program: String,
    pub args: Vec<String>,
    cwd: PathBuf,
}

impl Rustc {
    /// Keeps the command for the next run of the program, whose first
    /// cargo build will find the library fresh and run no rustc.
    ///
    /// Written as NUL-separated fields, not with serde: a serde_json
    /// serializer instantiated here would be a shared generic the user's
    /// own `serde_json::to_string` could bind to, pulling this crate's
    /// objects (and their dependencies) into every reloaded library.
    fn save(&self, path: &Path) {
        let mut fields = vec![SAVED_FORMAT, &self.program];
        let cwd = self.cwd.to_str();
        fields.extend(cwd);
        let count = self.env.len().to_string();
        fields.push(&count);
        fields.extend(self.env.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
        fields.extend(self.args.iter().map(String::as_str));
        let saved = match cwd {
            None => Err(std::io::Error::other("the directory is not UTF-8")),
            Some(_) => path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(path, fields.join("\0"))),
        };
        if let Err(error) = saved {
            tracing::debug!(
                "cannot save the rustc command to {}: {error}",
                path.display()
            );
        }
    }

    /// The command an earlier run saved, if it builds the same package
    /// with the same hot flags (cargo's freshness says the rest is
    /// unchanged).
    fn load(path: &Path, package_dir: &Path, hot_flags: &[String]) -> Option<Rustc> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut fields = text.split('\0').map(String::from);
        if fields.next()? != SAVED_FORMAT {
            return None;
        }
        let program = fields.next()?;
        let cwd = PathBuf::from(fields.next()?);
        let count: usize = fields.next()?.parse().ok()?;
        let mut env = Vec::with_capacity(count);
        for _ in 0..count {
            env.push((fields.next()?, fields.next()?));
        }
        let rustc = Rustc {
            env,
            program,
            args: fields.collect(),
            cwd,
        };
        let same_package = rustc
            .env
            .iter()
            .any(|(name, value)| name == "CARGO_MANIFEST_DIR" && Path::new(value) == package_dir);
        (same_package && rustc.args.ends_with(hot_flags)).then_some(rustc)
    }

    /// Finds the hot build's command in cargo's `-vv` output: the `Running`
    /// line whose rustc builds a `cdylib`. `None` if cargo did not run it
    /// (nothing to rebuild) or the line cannot be read.
    fn from_cargo_output(stderr: &str, package_dir: &Path) -> Option<Rustc> {
        let command = stderr.lines().find_map(|line| {
            let command = line
                .trim_start()
                .strip_prefix("Running `")?
                .strip_suffix('`')?;
            command.contains("--crate-type cdylib").then_some(command)
        })?;
        let words = shell_words::split(command).ok()?;
        let is_assignment = |word: &str| {
            word.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        };
        let split = words.iter().position(|word| !is_assignment(word))?;
        let env = words[..split]
            .iter()
            .filter_map(|word| word.split_once('='))
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let program = words.get(split)?.clone();
        let args = words[split + 1..].to_vec();
        // Cargo runs rustc from the workspace root (or the package's own
        // directory) and names the source relative to it.
        let source = args
            .iter()
            .find(|arg| arg.ends_with(".rs") && !arg.starts_with('-'))?;
        let cwd = package_dir
            .ancestors()
            .find(|dir| dir.join(source).is_file())?
            .to_path_buf();
        Some(Rustc {
            env,
            program,
            args,
            cwd,
        })
    }

    /// The command as cargo ran it, with `links`. Builds with links keep
    /// their own incremental cache, so they and cargo's builds (without)
    /// do not invalidate each other's. Without the runtime in the link,
    /// nothing in it has large debug info: keep the line tables.
    fn command(&self, links: &Links) -> Command {
        let mut command = self.base_command();
        let own = &self.args[self.wrapper_args()..];
        if links.is_empty() {
            command.args(own);
        } else {
            let runtime = links
                .runtime
                .as_ref()
                .map(|(name, rlib)| (format!("{name}="), rlib));
            let mut args: Vec<String> = Vec::with_capacity(own.len());
            for arg in own {
                if runtime.is_some() && arg == STRIP && args.last().is_some_and(|a| a == "-C") {
                    args.pop();
                } else if let Some(dir) = arg.strip_prefix("incremental=") {
                    args.push(format!("incremental={dir}-hotreload"));
                } else if let Some((name, rlib)) = runtime
                    .as_ref()
                    .filter(|(n, _)| arg.starts_with(n.as_str()))
                {
                    args.push(format!("{name}{}", rlib.display()));
                } else {
                    args.push(arg.clone());
                }
            }
            command.args(args);
            command.args(links.dependencies.iter().flat_map(Dependencies::rustc_args));
        }
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    }

    /// The compiler (through its wrapper, if any) in cargo's environment,
    /// without this crate's arguments.
    pub fn base_command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args[..self.wrapper_args()])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .stdin(Stdio::null());
        command
    }

    /// With a `RUSTC_WRAPPER`, the arguments before rustc's own (the
    /// path of rustc).
    fn wrapper_args(&self) -> usize {
        self.args
            .iter()
            .take_while(|arg| !arg.starts_with('-'))
            .count()
    }

    /// The name the crate gives the runtime, if it names it.
    fn runtime_extern(&self) -> Option<String> {
        let prefix = format!("{}hotreload_runtime-", std::env::consts::DLL_PREFIX);
        self.externs()
            .find(|(_, path)| {
                Path::new(path)
                    .file_name()
                    .is_some_and(|file| file.to_string_lossy().starts_with(&prefix))
            })
            .map(|(name, _)| name.to_string())
    }

    /// The `--extern name=path` pairs.
    pub fn externs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.args
            .windows(2)
            .filter(|pair| pair[0] == "--extern")
            .filter_map(|pair| pair[1].split_once('='))
            .filter(|(name, _)| !name.contains(':'))
    }
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
    /// Extra rustc flags for the hot build (see the module docs), found by
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

    /// Chooses the rustc flags that make the hot build faster: a dynamic
    /// `std` when the toolchain ships one, no debug info unless
    /// `HOTRELOAD_DEBUGINFO=1`.
    pub fn find_hot_flags(&mut self, package_dir: &Path) {
        // The linker's -O0: no merging of identical strings across the
        // inputs, a few ms less per link (the output is a little larger).
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
    /// dependencies ([`crate::dylib`]) and the saved rustc command.
    pub fn hot_dir(&self, package: &Package) -> PathBuf {
        self.target_dir.join("hotreload").join(&package.name)
    }

    /// The saved rustc command of `package` for this profile and target
    /// (and this copy of the package: checkouts may share a target dir).
    fn saved_command(&self, package: &Package) -> PathBuf {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        package.manifest_dir.hash(&mut hasher);
        let target = self.target.as_deref().unwrap_or("host");
        self.hot_dir(package).join(format!(
            "rustc-{}-{target}-{:016x}",
            self.profile,
            hasher.finish()
        ))
    }

    /// The cargo invocation that builds `package` as a cdylib.
    pub fn command(&self, package: &Package) -> Command {
        let mut command = Command::new(&self.cargo);
        command
            .args(["rustc", "-vv"])
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
        command.arg("--").args(&self.hot_flags);
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
    /// The cdylib as the compiler wrote it (never loaded from there: see
    /// `stage`).
    pub artifact: PathBuf,
    /// Compiler warnings in this build.
    pub warnings: usize,
    pub duration: Duration,
}

/// Stops a build from another thread: kills the compiler's whole process
/// group (cargo, rustc, the linker).
#[derive(Default)]
pub struct Cancel {
    /// The process group of the build in flight; `None` before it starts
    /// and after it was reaped (so a reused pid is never signalled).
    group: Mutex<Option<u32>>,
    cancelled: AtomicBool,
}

impl Cancel {
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        let group = self.group.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(group) = *group {
            // SAFETY: kill(2) on a process group we created and have not
            // reaped yet (the lock is held).
            unsafe { kill(-(group as i32), SIGKILL) };
        }
    }

    fn set(&self, group: Option<u32>) {
        *self.group.lock().unwrap_or_else(PoisonError::into_inner) = group;
    }

    fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

const SIGKILL: i32 = 9;

unsafe extern "C" {
    fn kill(pid: i32, signal: i32) -> i32;
}

/// Builds `package`: by rerunning its captured rustc command when only its
/// Rust sources changed, else through cargo (capturing the command).
///
/// After a cargo build, the [`Links`] of direct builds are brought up to
/// date (the shared library of dependencies: [`dylib::prepare`]). A new set
/// is tried at once with a direct build of the same sources cargo just
/// built: if that fails, the fault is the links', and a smaller set is
/// tried (the runtime kept: the library uses more of it than `#[hot]`
/// code does), then none. The direct build also fills its incremental
/// cache, so the next edit is fast.
pub fn build(config: &BuildConfig, package: &mut Package, cancel: &Cancel) -> Result<Built, Error> {
    let started = Instant::now();
    if !package.links.exist() {
        // Deleted under us (`cargo clean`, or another program on this
        // target directory replaced them): cargo rebuilds what is gone, and
        // new links are made below.
        package.links = Links::default();
        package.cargo_needed = true;
    }
    let by_cargo = package.cargo_needed || package.rustc.is_none();
    let built = match run(config, package, cancel) {
        // The library now uses more of the runtime than the core crate
        // standing in for it has (`Reloader` in library code): keep the
        // runtime from now on.
        Err(Error::Build { rendered, .. })
            if !by_cargo
                && !cancel.cancelled()
                && package
                    .links
                    .runtime
                    .as_ref()
                    .is_some_and(|(name, _)| rendered.contains(name.as_str())) =>
        {
            package.links.runtime = None;
            run(config, package, cancel)?
        }
        built => built?,
    };
    let Some(rustc) = package.rustc.as_ref().filter(|_| by_cargo) else {
        return Ok(built);
    };
    let links = Links {
        dependencies: dylib::prepare(config, package, rustc),
        runtime: rustc.runtime_extern().zip(package.core.clone()),
    };
    if links == package.links {
        return Ok(built);
    }
    if links.is_empty() {
        package.links = links;
        return Ok(built);
    }
    let mut candidates = vec![links.clone()];
    let keep_runtime = Links {
        runtime: None,
        ..links
    };
    if keep_runtime != candidates[0] && !keep_runtime.is_empty() {
        candidates.push(keep_runtime);
    }
    for links in candidates {
        package.links = links;
        match run(config, package, cancel) {
            Ok(direct) => {
                return Ok(Built {
                    duration: started.elapsed(),
                    ..direct
                });
            }
            Err(error) if cancel.cancelled() => return Err(error),
            Err(error) => tracing::debug!(links = ?package.links, "a direct build failed: {error}"),
        }
    }
    if package.links.dependencies.is_some() {
        tracing::warn!(
            "`{}` does not build against its shared dependencies; linking them into every \
             reload instead",
            package.name
        );
    }
    package.links = Links::default();
    Ok(built)
}

/// One build, direct or through cargo.
fn run(config: &BuildConfig, package: &mut Package, cancel: &Cancel) -> Result<Built, Error> {
    let started = Instant::now();
    let direct = package.rustc.clone().filter(|_| !package.cargo_needed);
    let cargo = direct.is_none();
    let mut command = match &direct {
        Some(rustc) => rustc.command(&package.links),
        None => config.command(package),
    };
    // Its own process group, so a cancel reaches rustc and the linker too.
    command.process_group(0);
    let spawned = command.spawn();
    let mut child = spawned.map_err(|source| Error::CargoMissing {
        cargo: direct.as_ref().map_or_else(
            || config.cargo.clone(),
            |rustc| PathBuf::from(&rustc.program),
        ),
        source,
    })?;
    cancel.set(Some(child.id()));
    // Drain the stream we do not parse on its own thread, so a chatty
    // compiler cannot block on a full pipe while we read the other.
    let (parsed, other): (Box<dyn Read + Send>, Box<dyn Read + Send>) = if cargo {
        (
            Box::new(child.stdout.take().expect("piped")),
            Box::new(child.stderr.take().expect("piped")),
        )
    } else {
        (
            Box::new(child.stderr.take().expect("piped")),
            Box::new(child.stdout.take().expect("piped")),
        )
    };
    let other = std::thread::spawn(move || {
        let mut text = String::new();
        let mut other = other;
        let _ = other.read_to_string(&mut text);
        text
    });
    let mut output = Output::default();
    if cargo {
        output.read_cargo(parsed);
    } else {
        output.read_rustc(parsed);
    }
    let status = child.wait();
    cancel.set(None);
    let status = status.map_err(|source| Error::CargoMissing {
        cargo: config.cargo.clone(),
        source,
    })?;
    let other = other.join().unwrap_or_default();
    if cancel.cancelled() {
        return Err(Error::Build {
            package: package.name.clone(),
            rendered: "cancelled by a newer save".into(),
        });
    }
    if cargo && status.success() {
        package.core = output.core.take().or(package.core.take());
        let saved = config.saved_command(package);
        match Rustc::from_cargo_output(&other, &package.manifest_dir) {
            Some(rustc) => {
                rustc.save(&saved);
                package.rustc = Some(rustc);
            }
            // Fresh: cargo ran no rustc because nothing changed since it
            // last did, in this run or an earlier one.
            None if package.rustc.is_none() => {
                package.rustc = Rustc::load(&saved, &package.manifest_dir, &config.hot_flags);
            }
            None => {}
        }
        package.cargo_needed = false;
    }
    let other = if cargo { cargo_messages(&other) } else { other };
    let other = other.trim().to_string();
    if !status.success() {
        // Compiler errors come rendered in the JSON; anything else (a broken
        // Cargo.toml, a missing dependency) only as text.
        let rendered = if output.errors.is_empty() {
            other
        } else {
            output.errors.concat()
        };
        return Err(Error::Build {
            package: package.name.clone(),
            rendered: rendered.trim_end().to_string(),
        });
    }
    let artifact = output.artifact.ok_or_else(|| Error::NoArtifact {
        package: package.name.clone(),
        detail: other,
    })?;
    tracing::debug!(direct = !cargo, ?artifact, "built");
    Ok(Built {
        artifact,
        warnings: output.warnings,
        duration: started.elapsed(),
    })
}

/// Cargo's stderr without its `-vv` progress lines: what is left are its
/// own error messages.
fn cargo_messages(stderr: &str) -> String {
    const PROGRESS: &[&str] = &[
        "Running ",
        "Fresh ",
        "Dirty ",
        "Compiling ",
        "Finished ",
        "Locking ",
        "Blocking ",
        "Updating ",
        "Downloaded ",
        "Downloading ",
        "[",
    ];
    stderr
        .lines()
        .filter(|line| !PROGRESS.iter().any(|p| line.trim_start().starts_with(p)))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The one of an artifact's files whose name ends with `suffix`.
fn file_ending(files: Vec<cargo_metadata::camino::Utf8PathBuf>, suffix: &str) -> Option<PathBuf> {
    files
        .into_iter()
        .find(|file| file.as_str().ends_with(suffix))
        .map(PathBuf::from)
}

/// What a build printed that matters: the artifact, warnings, errors.
#[derive(Default)]
struct Output {
    artifact: Option<PathBuf>,
    /// The core crate's rlib (see [`Links::runtime`]).
    core: Option<PathBuf>,
    warnings: usize,
    errors: Vec<String>,
}

impl Output {
    fn diagnostic(&mut self, diagnostic: cargo_metadata::diagnostic::Diagnostic) {
        use cargo_metadata::diagnostic::DiagnosticLevel;
        match diagnostic.level {
            DiagnosticLevel::Error | DiagnosticLevel::Ice => self
                .errors
                .push(diagnostic.rendered.unwrap_or(diagnostic.message)),
            DiagnosticLevel::Warning => self.warnings += 1,
            _ => {}
        }
    }

    /// Cargo's JSON messages on its stdout.
    fn read_cargo(&mut self, stdout: impl Read) {
        for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
            match message {
                Message::CompilerArtifact(built) if built.target.name == "hotreload_core" => {
                    self.core = file_ending(built.filenames, ".rlib");
                }
                Message::CompilerArtifact(built) if is_hot_library(&built.target) => {
                    self.artifact = file_ending(built.filenames, std::env::consts::DLL_SUFFIX);
                }
                // Cargo replays the cached warnings of other workspace
                // members; count only this library's.
                Message::CompilerMessage(message) => {
                    use cargo_metadata::diagnostic::DiagnosticLevel;
                    let error = matches!(
                        message.message.level,
                        DiagnosticLevel::Error | DiagnosticLevel::Ice
                    );
                    if error || is_hot_library(&message.target) {
                        self.diagnostic(message.message)
                    }
                }
                _ => {}
            }
        }
    }

    /// rustc's JSON lines on its stderr (`--error-format=json
    /// --json=artifacts`).
    fn read_rustc(&mut self, stderr: impl Read) {
        #[derive(serde::Deserialize)]
        struct Artifact {
            artifact: PathBuf,
            emit: String,
        }
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(artifact) = serde_json::from_str::<Artifact>(&line) {
                if artifact.emit == "link"
                    && artifact
                        .artifact
                        .to_string_lossy()
                        .ends_with(std::env::consts::DLL_SUFFIX)
                {
                    self.artifact = Some(artifact.artifact);
                }
            } else if let Ok(diagnostic) = serde_json::from_str(&line) {
                self.diagnostic(diagnostic);
            } else if !line.trim().is_empty() {
                // Not JSON (a wrapper's or the linker's own words).
                self.errors.push(format!("{line}\n"));
            }
        }
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
    fn the_hot_rustc_command_is_read_from_cargo_output() {
        let workspace = tempfile::tempdir().unwrap();
        let package = workspace.path().join("logic");
        std::fs::create_dir_all(package.join("src")).unwrap();
        std::fs::write(package.join("src/lib.rs"), "").unwrap();
        let stderr = "       Fresh linkme v0.3.35\n     \
            Running `CARGO=/bin/cargo CARGO_PKG_NAME=logic CARGO_PKG_DESCRIPTION='a b' \
            /bin/rustc --crate-name logic --edition=2024 logic/src/lib.rs \
            --crate-type cdylib --check-cfg 'cfg(feature, values())' -C prefer-dynamic`\n    \
            Finished `dev` profile";
        let rustc = Rustc::from_cargo_output(stderr, &package).unwrap();
        assert_eq!(rustc.program, "/bin/rustc");
        assert!(
            rustc
                .env
                .contains(&("CARGO_PKG_DESCRIPTION".into(), "a b".into()))
        );
        assert_eq!(rustc.env.len(), 3);
        assert!(rustc.args.contains(&"cfg(feature, values())".to_string()));
        // Cargo named the source relative to the workspace root.
        assert_eq!(rustc.cwd, workspace.path());
        // Without a cdylib line (cargo found the build fresh): nothing.
        assert_eq!(Rustc::from_cargo_output("Fresh logic", &package), None);
    }

    #[test]
    fn a_saved_command_is_used_only_for_the_same_package_and_hot_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hotreload/logic/rustc-dev-host");
        let flags = vec!["-C".to_string(), "prefer-dynamic".to_string()];
        let package = dir.path().join("logic");
        let rustc = Rustc {
            env: vec![
                ("CARGO_MANIFEST_DIR".into(), package.display().to_string()),
                (
                    "CARGO_PKG_DESCRIPTION".into(),
                    "two\nlines, \"quoted\"".into(),
                ),
            ],
            program: "/bin/rustc".into(),
            args: [
                "--crate-name",
                "logic",
                "src/lib.rs",
                "-C",
                "prefer-dynamic",
            ]
            .map(String::from)
            .to_vec(),
            cwd: dir.path().to_path_buf(),
        };
        rustc.save(&path);
        assert_eq!(Rustc::load(&path, &package, &flags), Some(rustc));
        let other_flags = ["-C".to_string(), "debuginfo=2".to_string()];
        assert_eq!(Rustc::load(&path, &package, &other_flags), None);
        // Another copy of the package, building into the same target dir.
        assert_eq!(Rustc::load(&path, &dir.path().join("copy"), &flags), None);
        assert_eq!(
            Rustc::load(&dir.path().join("none.json"), &package, &flags),
            None
        );
    }

    #[test]
    fn only_rust_sources_under_src_skip_cargo() {
        let mut package = Package::new("logic", Path::new("/ws/logic"));
        package.cargo_needed = false;
        package.changed(&["/ws/logic/src/rules/mod.rs".into()]);
        assert!(!package.cargo_needed);
        package.changed(&["/ws/logic/src/lib.rs".into(), "/ws/logic/Cargo.toml".into()]);
        assert!(package.cargo_needed);
        package.cargo_needed = false;
        package.changed(&["/ws/logic/build.rs".into()]);
        assert!(package.cargo_needed);
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
