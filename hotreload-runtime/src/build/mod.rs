//! Stage 2, build: rebuilds a package's library as a `cdylib` with the same
//! cargo, target directory, profile and target as the running program
//! ([`BuildConfig`]), without the user changing `crate-type`.
//!
//! [`build`] takes one of two paths, as the package's [`Recipe`] says:
//!
//! - **through cargo** (the first build, and after any change but to `.rs`
//!   files under `src/`): `cargo rustc -vv --lib`, the library as the
//!   program's build makes it (an rlib: the same `-C metadata`, so the same
//!   crate identity; see [`BuildConfig::cargo_command`]), incremental,
//!   sharing the target directory (`cargo run` does not hold its lock
//!   while the program runs). Its JSON messages give the diagnostics; its
//!   `-vv` output gives the rustc command it ran ([`Rustc`]), which the
//!   recipe keeps. Then the recipe's [`Links`] are brought up to date, and
//!   the command is rerun directly as a cdylib (`after_cargo`).
//! - **direct**: the captured rustc command run again as a cdylib, with
//!   the recipe's [`Links`]: lighter to link, same code.
//!
//! Both run the compiler in a process group of its own ([`Cancel`] kills
//! it when a newer save arrives) and read its output the same way
//! ([`Output`]).

mod cancel;
pub mod cargo_json;
pub mod config;
pub mod dylib;
mod output;
pub mod package;
pub mod published;
pub mod quick;
pub mod rustc;

use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub use cancel::{Cancel, wait_without_reaping};
use output::Output;

use crate::Error;
use crate::build::config::{
    BuildConfig, CARGO_INCREMENTAL, DIRECT_INCREMENTAL, QUICK_INCREMENTAL, STRIP,
};
use crate::build::dylib::Dependencies;
use crate::build::package::Package;
use crate::build::quick::QuickBuild;
use crate::build::quick::prune;
use crate::build::rustc::Rustc;

/// How the next build of a package is made; updated by each build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// The rustc command of the last cargo build, to rerun directly.
    rustc: Option<Rustc>,
    /// A change since the last successful cargo build needs cargo (a
    /// manifest, a build script); sticky until cargo succeeds.
    cargo_needed: bool,
    /// What direct builds link differently from cargo's build.
    links: Links,
    /// `(crate, rlib)` of the stand-in crates, from the last cargo build.
    stand_ins: Vec<(String, PathBuf)>,
    /// Whether this run looked for a command an earlier run saved (see
    /// `saved_if_fresh`): once, at the first build.
    saved_tried: bool,
    /// For a quick build: the functions it leaves to the program (see
    /// `crate::build::quick`), given to the compiler as `HOTRELOAD_THIN`, and the
    /// pruned sources it compiles (`crate::build::quick::prune`). Set by the pipeline
    /// for each build; direct builds only.
    pub quick: Option<QuickBuild>,
    /// Why the next build compiles every hot function, for the report.
    pub full_reason: Option<String>,
}

impl Default for Recipe {
    fn default() -> Recipe {
        Recipe {
            rustc: None,
            cargo_needed: true,
            links: Links::default(),
            stand_ins: Vec::new(),
            saved_tried: false,
            quick: None,
            full_reason: None,
        }
    }
}

impl Recipe {
    /// Notes changed files of `package`.
    pub fn changed(&mut self, package: &Package, paths: &[PathBuf]) {
        self.cargo_needed |= package.needs_cargo(paths);
    }
}

/// Crates a hot build names another in place of: `(the crate, the crate
/// standing in for it)`. The stand-in defines everything of the first that
/// hot code needs and the first re-exports it, so the types are the same
/// in the program and in its builds; what the first adds (the reloader, the
/// Bevy plugin) and its dependencies (the watcher, miniserde, object: about
/// 40 archives, and their debug info) stay out of the link. A library that
/// uses more of the crate does not build against the stand-in: its builds
/// name the crate itself (see [`direct_with_fallback`]).
pub const STAND_INS: [(&str, &str); 2] = [
    ("hotreload_runtime", "hotreload_core"),
    ("hotreload_bevy", "hotreload_bevy_core"),
];

/// What a direct build links differently from cargo's build of the same
/// sources: lighter, same code. A new set is checked by one direct build
/// right after the cargo build (see [`build`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The shared library of crates.io and git dependencies
    /// ([`crate::build::dylib`]).
    pub dependencies: Option<Dependencies>,
    /// `(extern name, rlib)`: the stand-ins named in place of crates of
    /// [`STAND_INS`], in its order.
    pub stand_ins: Vec<(String, PathBuf)>,
}

impl Links {
    fn is_empty(&self) -> bool {
        self.dependencies.is_none() && self.stand_ins.is_empty()
    }

    /// Every file is still there.
    fn exist(&self) -> bool {
        self.dependencies.as_ref().is_none_or(Dependencies::exist)
            && self.stand_ins.iter().all(|(_, rlib)| rlib.is_file())
    }

    /// The crate's arguments from `rustc`, changed to link these. Once no
    /// crate that brings the runtime is left in the link, nothing in it has
    /// large debug info: the line tables stay (see [`STRIP`]).
    fn args(&self, rustc: &Rustc) -> Vec<String> {
        let own = rustc.crate_args();
        if self.is_empty() {
            return own.to_vec();
        }
        let stand_ins: Vec<(String, &PathBuf)> = self
            .stand_ins
            .iter()
            .map(|(name, rlib)| (format!("{name}="), rlib))
            .collect();
        let keep_strip = stand_ins.is_empty()
            || STAND_INS.iter().any(|(library, _)| {
                rustc
                    .extern_of(library)
                    .is_some_and(|name| !self.stand_ins.iter().any(|(n, _)| *n == name))
            });
        let mut args: Vec<String> = Vec::with_capacity(own.len());
        for arg in own {
            if !keep_strip && arg == STRIP && args.last().is_some_and(|a| a == "-C") {
                args.pop();
            } else if let Some((name, rlib)) =
                stand_ins.iter().find(|(n, _)| arg.starts_with(n.as_str()))
            {
                args.push(format!("{name}{}", rlib.display()));
            } else {
                args.push(arg.clone());
            }
        }
        args.extend(self.dependencies.iter().flat_map(Dependencies::rustc_args));
        args
    }
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
    /// The process that built it, if another one did (see `published`).
    pub builder: Option<u32>,
}

/// Builds `package` as its `recipe` says, and updates the recipe.
pub fn build(
    config: &BuildConfig,
    package: &Package,
    recipe: &mut Recipe,
    cancel: &Cancel,
) -> Result<Built, Error> {
    if !recipe.links.exist() {
        // Deleted under us (`cargo clean`, or another program on this
        // target directory replaced them): cargo rebuilds what is gone, and
        // new links are made after it.
        recipe.links = Links::default();
        recipe.cargo_needed = true;
    }
    if let Some(rustc) = recipe.rustc.clone().filter(|_| !recipe.cargo_needed) {
        return direct_with_fallback(package, recipe, &rustc, cancel);
    }
    // Every function compiled: not a quick build.
    recipe.quick = None;
    let started = Instant::now();
    if recipe.rustc.is_none() && !recipe.saved_tried {
        recipe.saved_tried = true;
        if let Some(built) = from_saved(config, package, recipe, cancel) {
            return built.map(|built| Built {
                duration: started.elapsed(),
                ..built
            });
        }
    }
    recipe.full_reason = Some("cargo ran (a change outside `src/*.rs`)".to_string());
    through_cargo(config, package, recipe, cancel)?;
    let Some(rustc) = recipe.rustc.clone() else {
        return Err(Error::NoArtifact {
            package: package.name.clone(),
            detail: "cargo found the library up to date and ran no rustc, and no earlier \
                     run saved its command; `cargo clean -p` the package once"
                .into(),
        });
    };
    let built = after_cargo(config, package, recipe, &rustc, cancel)?;
    Ok(Built {
        duration: started.elapsed(),
        ..built
    })
}

/// The first build of a run from the command an earlier run saved (see
/// [`saved_if_fresh`]), if there is one. `None` too when it does not build
/// any more (what it names changed in a way the file times did not show):
/// the recipe is then left for cargo to decide.
fn from_saved(
    config: &BuildConfig,
    package: &Package,
    recipe: &mut Recipe,
    cancel: &Cancel,
) -> Option<Result<Built, Error>> {
    let (rustc, stand_ins) = saved_if_fresh(config, package)?;
    recipe.rustc = Some(rustc.clone());
    recipe.stand_ins = stand_ins;
    recipe.cargo_needed = false;
    match after_cargo(config, package, recipe, &rustc, cancel) {
        Err(error) if !cancel.cancelled() => {
            tracing::debug!("the saved rustc command failed, building through cargo: {error}");
            recipe.rustc = None;
            recipe.cargo_needed = true;
            None
        }
        built => Some(built),
    }
}

/// The command and stand-ins an earlier run's cargo build saved, if
/// nothing cargo acts on changed since: the manifest, the lock file, a
/// build script, and every crate the command links are older than it (a
/// dependency the program's build compiled again is newer). The first
/// build of a run then compiles the library once, as the cdylib, instead
/// of first as cargo's rlib too (the program's own build just made one).
/// A source file of the library may have changed: that is what the build
/// compiles.
fn saved_if_fresh(
    config: &BuildConfig,
    package: &Package,
) -> Option<(Rustc, Vec<(String, PathBuf)>)> {
    let saved = config.saved_command(package);
    let modified = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    let saved_at = modified(&saved)?;
    let older = |path: &Path| modified(path).is_some_and(|at| at < saved_at);
    let rustc = Rustc::load(&saved, &package.manifest_dir, &config.hot_flags)?;
    let stand_ins = load_stand_ins(&saved)?;
    let build_script = package.manifest_dir.join("build.rs");
    let linked: Vec<PathBuf> = rustc
        .externs()
        .map(|(_, path)| PathBuf::from(path))
        .chain(stand_ins.iter().map(|(_, rlib)| rlib.clone()))
        .collect();
    let fresh = older(&package.manifest_dir.join("Cargo.toml"))
        && older(&rustc.cwd().join("Cargo.lock"))
        && (!build_script.exists() || older(&build_script))
        && linked.iter().all(|path| older(path))
        && !compiled_since(&linked, saved_at);
    fresh.then_some((rustc, stand_ins))
}

/// Whether a crate of `linked` (`lib<crate>-<hash>.<ext>` files) was
/// compiled again after `at` under another name: other flags, features or
/// another compiler make another hash, and the old file stays where the
/// saved command finds it. Another program of the target directory
/// building one of them its own way says so too (cargo then decides).
fn compiled_since(linked: &[PathBuf], at: std::time::SystemTime) -> bool {
    let crate_of = |file: &std::ffi::OsStr| {
        let file = file.to_str()?;
        let stem = file.strip_prefix(std::env::consts::DLL_PREFIX)?;
        Some(stem[..stem.rfind('-')?].to_string())
    };
    let crates: std::collections::HashSet<String> = linked
        .iter()
        .filter_map(|path| crate_of(path.file_name()?))
        .collect();
    let mut dirs: Vec<&Path> = linked.iter().filter_map(|path| path.parent()).collect();
    dirs.sort();
    dirs.dedup();
    dirs.iter()
        .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten())
        .filter(|entry| crate_of(&entry.file_name()).is_some_and(|name| crates.contains(&name)))
        .any(|entry| {
            entry
                .metadata()
                .and_then(|meta| meta.modified())
                .is_ok_and(|modified| modified > at)
        })
}

/// Where the stand-ins' rlibs of the cargo build that saved a command are
/// kept, beside it.
fn stand_ins_file(saved: &Path) -> PathBuf {
    saved.with_extension("stand-ins")
}

/// Keeps `stand_ins` beside the saved command, as `crate\0rlib` lines.
fn save_stand_ins(saved: &Path, stand_ins: &[(String, PathBuf)]) {
    let lines: Vec<String> = stand_ins
        .iter()
        .map(|(name, rlib)| format!("{name}\0{}", rlib.display()))
        .collect();
    let written = saved
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(stand_ins_file(saved), lines.join("\n")));
    if let Err(error) = written {
        tracing::debug!("cannot save the stand-ins: {error}");
    }
}

fn load_stand_ins(saved: &Path) -> Option<Vec<(String, PathBuf)>> {
    let text = std::fs::read_to_string(stand_ins_file(saved)).ok()?;
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, rlib) = line.split_once('\0')?;
            Some((name.to_string(), PathBuf::from(rlib)))
        })
        .collect()
}

/// A direct build. If it fails naming a stand-in's extern, the library now
/// uses more of that crate than its stand-in has (`Reloader`, the Bevy
/// plugin, in library code): name the crate itself from now on.
fn direct_with_fallback(
    package: &Package,
    recipe: &mut Recipe,
    rustc: &Rustc,
    cancel: &Cancel,
) -> Result<Built, Error> {
    let thin = recipe.quick.as_ref();
    match direct(package, rustc, &recipe.links, thin, cancel) {
        Err(Error::Build { rendered, .. })
            if !cancel.cancelled()
                && recipe
                    .links
                    .stand_ins
                    .iter()
                    .any(|(name, _)| rendered.contains(name.as_str())) =>
        {
            recipe
                .links
                .stand_ins
                .retain(|(name, _)| !rendered.contains(name.as_str()));
            direct(package, rustc, &recipe.links, thin, cancel)
        }
        built => built,
    }
}

/// After a cargo build (which checks the sources and captures the
/// command), the first direct build, which makes the cdylib, with the
/// recipe's [`Links`] brought up to date. A new set that fails to build is
/// the links' fault: smaller sets are tried (the Bevy plugin kept, then
/// the runtime), then none.
/// The direct build also fills its incremental cache, so the next edit is
/// fast.
fn after_cargo(
    config: &BuildConfig,
    package: &Package,
    recipe: &mut Recipe,
    rustc: &Rustc,
    cancel: &Cancel,
) -> Result<Built, Error> {
    let dependencies = dylib::prepare(&config.cargo, package, &config.hot_dir(package), rustc);
    let shares_dependencies = dependencies.is_some();
    let stand_ins: Vec<(String, PathBuf)> = STAND_INS
        .iter()
        .filter_map(|(library, stand_in)| {
            let rlib = recipe.stand_ins.iter().find(|(name, _)| name == stand_in)?;
            Some((rustc.extern_of(library)?, rlib.1.clone()))
        })
        .collect();
    let mut candidates: Vec<Links> = (0..=stand_ins.len())
        .rev()
        .map(|kept| Links {
            dependencies: dependencies.clone(),
            stand_ins: stand_ins[..kept].to_vec(),
        })
        .collect();
    candidates.push(Links::default());
    candidates.dedup();
    let last = candidates.len() - 1;
    for (index, links) in candidates.into_iter().enumerate() {
        match direct(package, rustc, &links, None, cancel) {
            Ok(built) => {
                if index > 0 && shares_dependencies && links.dependencies.is_none() {
                    tracing::warn!(
                        "`{}` does not build against its shared dependencies; linking them \
                         into every reload instead",
                        package.name
                    );
                }
                recipe.links = links;
                return Ok(built);
            }
            Err(error) if cancel.cancelled() || index == last => return Err(error),
            Err(error) => tracing::debug!(?links, "a direct build failed: {error}"),
        }
    }
    unreachable!("the last candidate returns")
}

/// `cargo rustc` of the hot library (as an rlib: see
/// `BuildConfig::cargo_command`); on success the recipe takes the rustc
/// command cargo ran (or, if cargo found the library fresh and ran none,
/// the one an earlier run saved) and the stand-in crates' rlibs.
fn through_cargo(
    config: &BuildConfig,
    package: &Package,
    recipe: &mut Recipe,
    cancel: &Cancel,
) -> Result<(), Error> {
    let command = config.cargo_command(package);
    let cargo = config.cargo.clone();
    let manifest = package.manifest_dir.join("Cargo.toml");
    // JSON messages on stdout; `-vv` progress and cargo's own errors on
    // stderr.
    let run = run(
        command,
        Stream::Stdout,
        cancel,
        move |output, stdout| output.read_cargo(stdout, &manifest),
        |source| Error::CargoMissing { cargo, source },
    )?;
    if run.status.success() && !cancel.cancelled() {
        if !run.output.stand_ins.is_empty() {
            recipe.stand_ins = run.output.stand_ins.clone();
        }
        let saved = config.saved_command(package);
        match Rustc::from_cargo_output(&run.other, &package.manifest_dir) {
            Some(rustc) => {
                // The stand-ins first: a saved command is taken at start
                // only when it is newer than what it names.
                save_stand_ins(&saved, &recipe.stand_ins);
                rustc.save(&saved);
                recipe.rustc = Some(rustc);
            }
            // Fresh: cargo ran no rustc because nothing changed since it
            // last did, in this run or an earlier one.
            None if recipe.rustc.is_none() => {
                recipe.rustc = Rustc::load(&saved, &package.manifest_dir, &config.hot_flags);
            }
            None => {}
        }
        recipe.cargo_needed = false;
    }
    let other = output::cargo_messages(&run.other);
    run.check(package, cancel, other)
}

/// The captured rustc command with `links`.
fn direct(
    package: &Package,
    rustc: &Rustc,
    links: &Links,
    thin: Option<&QuickBuild>,
    cancel: &Cancel,
) -> Result<Built, Error> {
    let started = Instant::now();
    let mut command = rustc.base_command();
    let args = direct_args(links.args(rustc));
    match thin {
        Some(plan) => {
            let (args, list) = quick_args(package, rustc, args, plan);
            command.args(args).env("HOTRELOAD_THIN", list);
        }
        None => {
            command.args(args);
        }
    }
    let program = PathBuf::from(&rustc.program);
    // JSON diagnostics and artifacts on stderr; stdout is normally empty.
    let run = run(
        command,
        Stream::Stderr,
        cancel,
        Output::read_rustc,
        |source| Error::CompilerMissing { program, source },
    )?;
    let other = run.other.clone();
    run.check(package, cancel, other.clone())?;
    let artifact = run.output.artifact.ok_or_else(|| Error::NoArtifact {
        package: package.name.clone(),
        detail: other.trim().to_string(),
    })?;
    tracing::debug!(?artifact, "built");
    Ok(Built {
        artifact,
        warnings: run.output.warnings,
        duration: started.elapsed(),
        builder: None,
    })
}

/// The arguments of a direct build, from the captured command (cargo's
/// build of the library as an rlib) with its links: the cdylib alone
/// (`--crate-type cdylib`, no `--emit=metadata`), linked against the
/// dependencies' rlibs (cargo names their `.rmeta`s, which is all an rlib
/// needs), and plain diagnostics unless the user reads them in a terminal
/// (cargo always asks rustc for colored ones and strips the colors
/// itself).
fn direct_args(args: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(args.len() + 4);
    // Thunks pick their panic guard by it (`cfg!(hotreload_build)`).
    out.extend(
        [
            "--cfg",
            "hotreload_build",
            "--check-cfg",
            "cfg(hotreload_build)",
        ]
        .map(String::from),
    );
    let mut args = args.into_iter().peekable();
    let mut crate_type = false;
    while let Some(arg) = args.next() {
        if arg == "--crate-type" {
            let _ = args.next();
            if !crate_type {
                crate_type = true;
                out.extend(["--crate-type".to_string(), "cdylib".to_string()]);
            }
            continue;
        }
        let arg = if let Some(kinds) = arg.strip_prefix("--emit=") {
            let kinds: Vec<&str> = kinds.split(',').filter(|k| *k != "metadata").collect();
            format!("--emit={}", kinds.join(","))
        } else if let Some(kinds) = arg.strip_prefix("--json=").filter(|_| !config::color()) {
            let kinds: Vec<&str> = kinds
                .split(',')
                .filter(|kind| *kind != "diagnostic-rendered-ansi")
                .collect();
            format!("--json={}", kinds.join(","))
        } else if out.last().is_some_and(|last| last == "--extern") && arg.ends_with(".rmeta") {
            format!("{}.rlib", arg.trim_end_matches(".rmeta"))
        } else if let Some(dir) = arg
            .strip_prefix("incremental=")
            .and_then(|dir| dir.strip_suffix(CARGO_INCREMENTAL))
        {
            format!("incremental={dir}{DIRECT_INCREMENTAL}")
        } else {
            arg
        };
        out.push(arg);
    }
    out
}

/// The arguments and `HOTRELOAD_THIN` of a quick build: lints capped (a
/// quick build's verdict on them is not the one shown), no dep-info, and,
/// if `plan` prunes, its sources written to a copy of the package
/// (`<hot dir>/quick-<hash>/`, see [`prune::write_shadow`]) compiled in place of
/// the real ones, with paths mapped back to the real ones and an
/// incremental cache of its own.
fn quick_args(
    package: &Package,
    rustc: &Rustc,
    args: Vec<String>,
    plan: &QuickBuild,
) -> (Vec<String>, String) {
    let mut args: Vec<String> = args
        .into_iter()
        .map(|arg| match arg.strip_prefix("--emit=") {
            Some(kinds) => {
                let kinds: Vec<&str> = kinds.split(',').filter(|k| *k != "dep-info").collect();
                format!("--emit={}", kinds.join(","))
            }
            None => arg,
        })
        .collect();
    args.extend(["--cap-lints".to_string(), "allow".to_string()]);
    let in_list = |dir: &Path| thin_list(plan, &package.manifest_dir, dir);
    let mut list = in_list(&package.manifest_dir);
    let Some(pruned) = &plan.pruned else {
        return (args, list);
    };
    // The crate root, as cargo named it, under the package's `src/`.
    let root = args
        .iter()
        .position(|arg| arg.ends_with(".rs") && !arg.starts_with('-'));
    let Some((root, relative)) = root.and_then(|index| {
        let path = rustc.cwd().join(&args[index]);
        let relative = path.strip_prefix(&package.manifest_dir).ok()?;
        relative
            .starts_with("src")
            .then(|| (index, relative.to_path_buf()))
    }) else {
        return (args, list);
    };
    let Some(incremental) = args
        .iter()
        .position(|arg| arg.starts_with("incremental=") && arg.ends_with(DIRECT_INCREMENTAL))
    else {
        return (args, list);
    };
    let hot_dir = PathBuf::from(
        args[incremental]["incremental=".len()..].trim_end_matches(DIRECT_INCREMENTAL),
    );
    let shadow = hot_dir.join(format!("quick-{:016x}", package.copy_id()));
    if let Err(error) = prune::write_shadow(&package.manifest_dir, &shadow, pruned) {
        tracing::debug!("a pruned copy of the sources could not be written: {error}");
        return (args, list);
    }
    // The real path's prefix as cargo wrote it (`src/lib.rs` -> ``).
    let written = args[root].clone();
    let prefix = written
        .strip_suffix(relative.to_string_lossy().as_ref())
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    let from = if prefix.is_empty() {
        format!("{}/", shadow.display())
    } else {
        shadow.display().to_string()
    };
    args[root] = shadow.join(&relative).display().to_string();
    args[incremental] = format!("incremental={}{QUICK_INCREMENTAL}", hot_dir.display());
    args.push(format!("--remap-path-prefix={from}={prefix}"));
    // The macro finds itself by its file: the copy's names too.
    list.push_str(&in_list(&shadow));
    (args, list)
}

/// `plan`'s thin list with the files of the package in `manifest_dir`
/// under `dir` (canonical: the macro compares the real path of its file).
fn thin_list(plan: &QuickBuild, manifest_dir: &Path, dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or(dir.to_path_buf());
    let mut list = String::new();
    for line in plan.thin.lines() {
        if let Some((path, lines)) = line.split_once('\t')
            && let Ok(relative) = Path::new(path).strip_prefix(manifest_dir)
        {
            let _ = writeln!(list, "{}\t{lines}", dir.join(relative).display());
        }
    }
    list
}

/// The stream of the compiler's that carries its JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

/// A compiler process that ended.
struct Run {
    status: ExitStatus,
    output: Output,
    /// The text of the other stream.
    other: String,
}

/// Runs `command` in a process group of its own (so a cancel reaches rustc
/// and the linker too), parsing the `json` stream with `read` while a
/// thread drains the other (a chatty compiler cannot block on a full pipe).
fn run(
    mut command: Command,
    json: Stream,
    cancel: &Cancel,
    read: impl FnOnce(&mut Output, Box<dyn Read + Send>),
    cannot_start: impl FnOnce(std::io::Error) -> Error,
) -> Result<Run, Error> {
    let program = PathBuf::from(command.get_program());
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(cannot_start)?;
    let ((output, other), status) = cancel.wait_for(&mut child, |child| {
        let stdout: Option<Box<dyn Read + Send>> = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let stderr: Option<Box<dyn Read + Send>> = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let (parsed, drained) = match json {
            Stream::Stdout => (stdout, stderr),
            Stream::Stderr => (stderr, stdout),
        };
        let drained = drained.map(|mut stream| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stream.read_to_string(&mut text);
                text
            })
        });
        let mut output = Output::default();
        if let Some(parsed) = parsed {
            read(&mut output, parsed);
        }
        let other = drained
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default();
        (output, other)
    });
    let status = status.map_err(|source| Error::BuildLost { program, source })?;
    Ok(Run {
        status,
        output,
        other,
    })
}

impl Run {
    /// Whether the compiler succeeded, or why not. `other` is the other
    /// stream's text as the user should see it when a failure has no
    /// rendered errors (a broken `Cargo.toml`, a missing dependency).
    fn check(&self, package: &Package, cancel: &Cancel, other: String) -> Result<(), Error> {
        if cancel.cancelled() {
            return Err(Error::Build {
                package: package.name.clone(),
                rendered: "cancelled by a newer save".into(),
            });
        }
        if self.status.success() {
            return Ok(());
        }
        let rendered = if self.output.errors.is_empty() {
            other
        } else {
            self.output.errors.concat()
        };
        Err(Error::Build {
            package: package.name.clone(),
            rendered: rendered.trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direct_build_makes_the_cdylib_alone() {
        let args = "--crate-name logic src/lib.rs --crate-type lib --emit=dep-info,metadata,link \
                    -C metadata=89a3 -C incremental=/t/hotreload/logic/incremental-cargo \
                    --extern serde=/t/deps/libserde-1.rmeta -C prefer-dynamic";
        let args = args.split_whitespace().map(String::from).collect();
        assert_eq!(
            direct_args(args).join(" "),
            "--cfg hotreload_build --check-cfg cfg(hotreload_build) \
             --crate-name logic src/lib.rs --crate-type cdylib --emit=dep-info,link \
             -C metadata=89a3 -C incremental=/t/hotreload/logic/incremental-direct \
             --extern serde=/t/deps/libserde-1.rlib -C prefer-dynamic"
        );
    }

    #[test]
    fn a_bevy_library_builds_against_the_stand_ins_with_its_line_tables() {
        let rustc = Rustc::from_args(
            "--crate-name game src/lib.rs -C strip=debuginfo \
             --extern hotreload_runtime=/t/deps/libhotreload_runtime-1.rmeta \
             --extern hotreload_bevy=/t/deps/libhotreload_bevy-2.rmeta \
             --extern bevy_ecs=/t/deps/libbevy_ecs-3.rmeta",
        );
        let runtime = (
            "hotreload_runtime".to_string(),
            PathBuf::from("/t/core.rlib"),
        );
        let bevy = (
            "hotreload_bevy".to_string(),
            PathBuf::from("/t/bevy_core.rlib"),
        );
        let both = Links {
            dependencies: None,
            stand_ins: vec![runtime.clone(), bevy],
        };
        assert_eq!(
            both.args(&rustc).join(" "),
            "--crate-name game src/lib.rs \
             --extern hotreload_runtime=/t/core.rlib \
             --extern hotreload_bevy=/t/bevy_core.rlib \
             --extern bevy_ecs=/t/deps/libbevy_ecs-3.rmeta"
        );
        // The plugin named in the library: `hotreload_bevy` brings the
        // runtime and its dependencies, whose debug info stays out.
        let runtime_only = Links {
            dependencies: None,
            stand_ins: vec![runtime],
        };
        let args = runtime_only.args(&rustc);
        assert!(
            args.windows(2).any(|pair| pair == ["-C", STRIP]),
            "{args:?}"
        );
        assert!(args.contains(&"hotreload_bevy=/t/deps/libhotreload_bevy-2.rmeta".to_string()));
    }

    #[test]
    fn a_saved_command_starts_a_run_only_while_what_it_names_is_older() {
        use std::time::{Duration, SystemTime};
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let package_dir = root.join("game");
        let deps = root.join("target/debug/deps");
        std::fs::create_dir_all(package_dir.join("src")).unwrap();
        std::fs::create_dir_all(&deps).unwrap();
        let serde = deps.join("libserde-1.rlib");
        let core = deps.join("libhotreload_core-2.rlib");
        let inputs = [
            package_dir.join("Cargo.toml"),
            root.join("Cargo.lock"),
            serde,
            core.clone(),
        ];
        for file in inputs.iter().chain([&package_dir.join("src/lib.rs")]) {
            std::fs::write(file, "").unwrap();
        }
        let config = BuildConfig {
            cargo: PathBuf::from("cargo"),
            target_dir: root.join("target"),
            profile: "dev".to_string(),
            target: None,
            hot_flags: vec!["-C".to_string(), "prefer-dynamic".to_string()],
        };
        let package = Package::new("game", &package_dir);
        let stderr = format!(
            "Running `CARGO_MANIFEST_DIR={} CARGO_PRIMARY_PACKAGE=1 /bin/rustc --crate-name game \
             game/src/lib.rs --extern serde={}/libserde-1.rmeta -C prefer-dynamic`",
            package_dir.display(),
            deps.display()
        );
        let rustc = Rustc::from_cargo_output(&stderr, &package_dir).unwrap();
        let saved = config.saved_command(&package);
        let stand_ins = vec![("hotreload_core".to_string(), core)];
        save_stand_ins(&saved, &stand_ins);
        rustc.save(&saved);
        let at = |file: &Path, seconds: u64| {
            let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds);
            let file = std::fs::File::options().write(true).open(file).unwrap();
            file.set_modified(time).unwrap();
        };
        at(&saved, 100);
        for input in &inputs {
            at(input, 10);
        }
        assert_eq!(saved_if_fresh(&config, &package), Some((rustc, stand_ins)));
        // Changed since the command was saved: the manifest, the lock
        // file, a crate it links (the program's build compiled it again).
        for input in &inputs {
            at(input, 200);
            assert_eq!(
                saved_if_fresh(&config, &package),
                None,
                "{}",
                input.display()
            );
            at(input, 10);
        }
        // A dependency compiled again under another name (other flags).
        let rebuilt = deps.join("libserde-9.rlib");
        std::fs::write(&rebuilt, "").unwrap();
        at(&rebuilt, 200);
        assert_eq!(
            saved_if_fresh(&config, &package),
            None,
            "serde compiled again"
        );
        std::fs::remove_file(&rebuilt).unwrap();
        std::fs::write(deps.join("libserde_json-9.rlib"), "").unwrap();
        assert!(
            saved_if_fresh(&config, &package).is_some(),
            "another crate, whose name starts alike"
        );
        std::fs::write(package_dir.join("build.rs"), "").unwrap();
        assert_eq!(
            saved_if_fresh(&config, &package),
            None,
            "a new build script"
        );
        at(&package_dir.join("build.rs"), 10);
        assert!(saved_if_fresh(&config, &package).is_some());
        std::fs::remove_file(stand_ins_file(&saved)).unwrap();
        assert_eq!(
            saved_if_fresh(&config, &package),
            None,
            "no stand-ins saved"
        );
    }
}
