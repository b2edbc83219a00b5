//! Making an upgrade: the program, run where it was built with
//! `HOTRELOAD_MAKE_UPGRADE=<file>` (by `cargo hotreload upgrade`), builds
//! each of its hot packages from the sources as they are now, exactly as a
//! reload would, and writes an unsigned, unnumbered [`Upgrade`] to `<file>`
//! instead of running: the builds, the shared libraries they load that
//! are not the system's (the toolchain's `libstd`, the dependencies
//! library: what their run path finds), and the program's symbols at
//! address 0 (see `one_copy::template`). The command numbers and signs it.
//!
//! Running the program itself (as `take_state`'s check does) gives the
//! packages, the profile, the target directory and the build id from the
//! one place that knows them: the binary. It runs `main` up to
//! `Reloader::start`, so that call comes first in `main`.

use std::path::{Path, PathBuf};

use object::elf;
use object::read::elf::{Dyn, ElfFile64, SectionHeader};

use super::file::{Kind, Piece, Upgrade, build_id};
use crate::Error;
use crate::build::config::BuildConfig;
use crate::build::package::Package;
use crate::build::{self, Cancel, Recipe};
use crate::load;
use crate::registry::Manifest;
use crate::restart;
use crate::sources::{Snapshot, rust_files};
use crate::stage::{Staging, one_copy};
use crate::verify;
use crate::verify::types::Sources;

/// The environment variable that asks for an upgrade instead of a run.
pub const VARIABLE: &str = "HOTRELOAD_MAKE_UPGRADE";
/// Set: an edit no reload can take makes an upgrade that carries the new
/// binary (built into the target directory, replacing the one there).
pub const RESTART: &str = "HOTRELOAD_UPGRADE_RESTART";
/// The sources the binary was built from (a checkout of the deployed
/// version: the package's directory, or a directory above it).
pub const BASE: &str = "HOTRELOAD_UPGRADE_BASE";

/// Where to write the upgrade, if this run is to make one.
pub fn requested() -> Option<PathBuf> {
    std::env::var_os(VARIABLE).map(PathBuf::from)
}

/// Makes the upgrade and ends the process: 0 when written, 1 with the
/// reason on stderr.
pub fn make_and_exit(out: &Path, packages: Vec<Package>) -> ! {
    match make(packages).and_then(|upgrade| {
        std::fs::write(out, upgrade.body())
            .map_err(|e| format!("cannot write `{}`: {e}", out.display()))
    }) {
        Ok(()) => std::process::exit(0),
        Err(error) => {
            eprintln!("[hotreload] cannot make the upgrade: {error}");
            std::process::exit(1)
        }
    }
}

fn make(packages: Vec<Package>) -> Result<Upgrade, String> {
    let base = std::env::var_os(BASE)
        .map(PathBuf::from)
        .ok_or("no base: the sources the binary was built from are needed to check the edit")?;
    let exe =
        std::fs::read("/proc/self/exe").map_err(|e| format!("cannot read the program: {e}"))?;
    let binary = build_id(&exe)?;
    let mut config = BuildConfig::of_running_program().map_err(|error| match error {
        Error::TargetDir { exe } => format!(
            "`{}` is not in a cargo target directory: make upgrades with the binary as cargo \
             built it (`target/release/<name>`, the very one that was deployed), not a copy",
            exe.display()
        ),
        error => error.to_string(),
    })?;
    config.check_cargo().map_err(|e| e.to_string())?;
    if let Some(first) = packages.first() {
        config.find_hot_flags(&first.manifest_dir);
    }
    let mut libraries = Vec::new();
    let mut builds = Vec::new();
    for mut package in packages {
        package.find_runtime_feature(&config.cargo);
        let mut recipe = Recipe::default();
        let built = build::build(&config, &package, &mut recipe, &Cancel::default())
            .map_err(|e| e.to_string())?;
        let base_dir = package_in(&base, &package)?;
        match check(&package, &base_dir, &built.artifact) {
            Ok(changed) if changed.is_empty() => eprintln!(
                "[hotreload] warning: no #[hot] function of `{}` changed: the upgrade changes only \
                 code that hot functions call (edits to other code, such as `main` or handlers \
                 that are not #[hot], need a new binary)",
                package.name
            ),
            Ok(changed) => eprintln!(
                "[hotreload] `{}`: changes the #[hot] functions {}",
                package.name,
                changed.join(", ")
            ),
            Err(refused) if restart::gets_past(&refused) && std::env::var_os(RESTART).is_some() => {
                return new_binary(binary, &config, &package, &refused);
            }
            Err(refused) if restart::gets_past(&refused) => {
                return Err(format!(
                    "{refused}\n(Compared with the binary and with `{}`, the sources it was \
                     built from.) With `--restart`, the upgrade carries the program's new binary \
                     instead, for it to restart into with its state",
                    base_dir.display()
                ));
            }
            Err(error) => return Err(error.to_string()),
        }
        let data = std::fs::read(&built.artifact)
            .map_err(|e| format!("cannot read `{}`: {e}", built.artifact.display()))?;
        needed_libraries(&data, &mut libraries)?;
        builds.push(Piece {
            kind: Kind::Build,
            name: package.name.clone(),
            data,
        });
    }
    let mut pieces = Vec::new();
    if std::env::var_os("HOTRELOAD_ONE_COPY").is_none_or(|v| v != "0") {
        pieces.push(Piece {
            kind: Kind::Symbols,
            name: "program".into(),
            data: one_copy::template()?,
        });
    }
    pieces.extend(libraries);
    pieces.extend(builds);
    Ok(Upgrade {
        binary,
        sequence: 0,
        pieces,
    })
}

/// Checks the new build of `package` against this very binary as the
/// service will, and more: the service has no sources, so the type
/// definitions the edit changed (`HOT011` for a type a hot signature
/// reaches, through references too) are found here, from the sources the
/// binary was built from (`base`) and the edited ones.
/// Returns the paths of the hot functions whose source changed.
fn check(package: &Package, base_dir: &Path, artifact: &Path) -> Result<Vec<String>, Error> {
    let mut snapshot = Snapshot::read(base_dir);
    let src = package.manifest_dir.join("src");
    // Every base file is the program's (whatever its time stamp), under
    // the name the edited file has.
    for (file, _, newer) in &mut snapshot.files {
        if let Ok(relative) = file.strip_prefix(&snapshot.src) {
            *file = src.join(relative);
        }
        *newer = false;
    }
    let mut paths: Vec<PathBuf> = snapshot
        .files
        .iter()
        .map(|(file, ..)| file.clone())
        .collect();
    rust_files(&src, &mut paths);
    snapshot.src = src;
    let mut sources = Sources::new(snapshot);
    sources.changed(&paths);
    sources.refresh();
    let _ = one_copy::share();
    let staged = Staging::new().and_then(|staging| staging.stage(artifact, &package.name))?;
    // SAFETY: the build just made of this program's package, with its
    // toolchain and settings, as a reload loads it.
    let loaded = unsafe { load::load(staged, &package.name) }?;
    let running = Manifest::current();
    verify::verify(
        &package.name,
        &running,
        &loaded.manifest,
        &sources.changes(),
    )?;
    let ours = |entry: &&hotreload_core::registry::Entry| entry.package == package.name;
    let mut changed: Vec<String> = (loaded.manifest.entries.iter().filter(ours))
        .filter(|new| {
            (running.entries.iter().filter(ours))
                .find(|old| old.path == new.path)
                .is_none_or(|old| old.source_hash != new.source_hash)
        })
        .map(|entry| entry.path.to_string())
        .collect();
    changed.sort_unstable();
    Ok(changed)
}

/// An upgrade that carries the program's new binary, for an edit no
/// reload can take (`refused`): built as a restart in development builds
/// it, into the target directory (the next upgrade is made with it).
fn new_binary(
    binary: Vec<u8>,
    config: &BuildConfig,
    package: &Package,
    refused: &Error,
) -> Result<Upgrade, String> {
    let command = restart::command(config, &package.manifest_dir).map_err(|e| e.to_string())?;
    let built =
        restart::build(config, &package.manifest_dir, command).map_err(|e| e.to_string())?;
    let data =
        std::fs::read(&built).map_err(|e| format!("cannot read `{}`: {e}", built.display()))?;
    eprintln!(
        "[hotreload] {}: the upgrade carries the new binary `{}`, for the program to restart \
         into with its state",
        restart::reason(refused),
        built.display()
    );
    Ok(Upgrade {
        binary,
        sequence: 0,
        pieces: vec![Piece {
            kind: Kind::Binary,
            name: built
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            data,
        }],
    })
}

/// The directory in `base` that holds `package`: `base` itself, or the
/// package's directory at the same place below `base` as in the sources
/// it is built from now (`base` a checkout of the repository).
fn package_in(base: &Path, package: &Package) -> Result<PathBuf, String> {
    let components: Vec<_> = package.manifest_dir.components().collect();
    let is_it = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|manifest| {
            manifest
                .lines()
                .any(|line| line.replace(' ', "") == format!("name=\"{}\"", package.name))
        })
    };
    (0..components.len())
        .map(|k| {
            base.join(
                components[components.len() - k..]
                    .iter()
                    .collect::<PathBuf>(),
            )
        })
        .find(|dir| is_it(dir))
        .ok_or_else(|| {
            format!(
                "`{}` holds no package `{}` (the base is a copy of the sources the binary was \
                 built from: the package, or the repository it is in)",
                base.display(),
                package.name
            )
        })
}

/// Adds to `found` (dependencies first), as pieces named by their file
/// name (their soname), the libraries that `library` loads through its
/// run path, and theirs: the toolchain's and the target directory's, which
/// a host without them lacks. Libraries the system's search finds
/// (`libc.so.6`) are not in any run path and are left out.
fn needed_libraries(library: &[u8], found: &mut Vec<Piece>) -> Result<(), String> {
    let (needed, run_path) = dynamic(library)?;
    for name in needed {
        let Some(path) = run_path
            .iter()
            .map(|dir| Path::new(dir).join(&name))
            .find(|path| path.is_file())
        else {
            continue;
        };
        if found.iter().any(|piece| piece.name == name) {
            continue;
        }
        let data =
            std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        needed_libraries(&data, found)?;
        found.push(Piece {
            kind: Kind::Library,
            name,
            data,
        });
    }
    Ok(())
}

/// A shared object's `DT_NEEDED` names and its run path (`DT_RUNPATH`, or
/// `DT_RPATH`), split at `:`.
fn dynamic(library: &[u8]) -> Result<(Vec<String>, Vec<String>), String> {
    let elf = ElfFile64::<object::Endianness>::parse(library)
        .map_err(|e| format!("a build is not a 64-bit ELF library: {e}"))?;
    let endian = elf.endian();
    let sections = elf.elf_section_table();
    let mut needed = Vec::new();
    let mut run_path = Vec::new();
    for section in sections.iter() {
        let Ok(Some((entries, link))) = section.dynamic(endian, library) else {
            continue;
        };
        let Ok(strings) = sections.strings(endian, library, link) else {
            continue;
        };
        for entry in entries {
            let tag = entry.d_tag(endian);
            if tag != elf::DT_NEEDED && tag != elf::DT_RUNPATH && tag != elf::DT_RPATH {
                continue;
            }
            let Ok(value) = strings.get(entry.d_val(endian) as u32) else {
                continue;
            };
            let value = String::from_utf8_lossy(value).into_owned();
            if tag == elf::DT_NEEDED {
                needed.push(value);
            } else {
                run_path.extend(value.split(':').map(String::from));
            }
        }
    }
    Ok((needed, run_path))
}
