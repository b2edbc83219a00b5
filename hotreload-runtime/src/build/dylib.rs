//! Dependencies linked once: the hot build links crates.io and git
//! dependencies as one shared library, built once, instead of copying them
//! into every reloaded library. On a crate using `bevy_ecs` the link was
//! more than half of every reload.
//!
//! rustc links a Rust `dylib` dependency dynamically, and every crate
//! inside it with it, only if the crate being built names that dylib. So:
//!
//! 1. After a cargo build, [`prepare`] picks the package's direct
//!    dependencies that cannot change while the program runs (from a
//!    registry or git, with no path dependency and no hotreload crate
//!    below them: `cargo metadata` says), and builds a `dylib` crate
//!    [`CRATE`] that names each of them, from the very `.rlib`s cargo built
//!    (same crate hashes, so rustc sees the same crates).
//! 2. Direct builds pass `--cfg hotreload_deps` and `--extern` it; the
//!    code `#[hot]` generates then names it
//!    (`extern crate hotreload_deps` under that cfg), so rustc links
//!    it instead of the `.rlib`s. Everything else (the package's own code,
//!    path dependencies, `hotreload-core`) is linked into each build.
//! 3. The reloaded library finds it through an rpath. Its file name holds
//!    a hash of its inputs: a program that loaded one keeps it, and a
//!    changed `Cargo.toml` gives a new one.
//!
//! Only with a shared `std` (`-C prefer-dynamic`), which both sides must
//! link the same way. `HOTRELOAD_SHARED_DEPS=0` turns it off. The first
//! build with it is checked against the cargo build of the same sources
//! (see `build::after_cargo`); if rustc refuses the combination, hot builds go on
//! without it. It is one of the build's [`Links`](crate::build::Links).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hotreload_core::layout::LayoutHasher;

use crate::build::cargo_json::{self, Metadata, Node, NodeDep};
use crate::build::package::Package;
use crate::build::rustc::Rustc;
use crate::registry::Manifest;

/// The name of the generated crate, and of the `--cfg` that makes `#[hot]`
/// code name it (keep in step with `link_dependencies` in the macro crate's
/// `expand/registration.rs`).
pub const CRATE: &str = "hotreload_deps";

/// A built dependencies library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependencies {
    /// What the reloaded code runs with.
    pub library: PathBuf,
    /// What rustc and the linker read: a shared object with the library's
    /// soname and crate metadata but none of its symbols (about 30 000 for
    /// `bevy_ecs`, 10-15 ms of every link to read), which the dynamic
    /// loader binds instead. The library itself if no stub could be made.
    ///
    /// The linker may now take a symbol the library would have given from
    /// a static archive that also defines it (the runtime's dependencies
    /// export shared generic code): a second copy of generic code, never
    /// of a static, since a crate's statics are defined only in its own
    /// objects and a crate is in the library or in an archive, not both.
    pub stub: PathBuf,
}

impl Dependencies {
    fn new(library: PathBuf, linker: &str) -> Dependencies {
        let stub = make_stub(&library, linker).unwrap_or_else(|error| {
            tracing::debug!("linking against the whole dependencies library: {error}");
            library.clone()
        });
        Dependencies { library, stub }
    }

    /// The files are still there (`cargo clean`, or another program on
    /// the same target directory, may have removed them).
    pub fn exist(&self) -> bool {
        self.library.is_file() && self.stub.is_file()
    }

    /// What a direct build adds to link against it.
    pub fn rustc_args(&self) -> Vec<String> {
        let dir = self.library.parent().unwrap_or(Path::new("."));
        let mut args = vec![
            "--cfg".into(),
            CRATE.into(),
            "--extern".into(),
            format!("{CRATE}={}", self.stub.display()),
            "-C".into(),
            format!("link-arg=-Wl,-rpath,{}", dir.display()),
        ];
        if self.stub != self.library {
            // rustc links it `--as-needed`, and a stub satisfies nothing:
            // name it again so it stays in the library's DT_NEEDED.
            args.extend(["-C", "link-arg=-Wl,--no-as-needed", "-C"].map(String::from));
            args.push(format!("link-arg={}", self.stub.display()));
        }
        args
    }
}

/// Builds (or finds, from an earlier run) in `dir` the dependencies library
/// for `package` as `rustc` builds it, asking `cargo` for the dependency
/// graph. `None` when there is nothing to share, when it is turned off, or
/// when building it failed (logged).
pub fn prepare(cargo: &Path, package: &Package, dir: &Path, rustc: &Rustc) -> Option<Dependencies> {
    if std::env::var_os("HOTRELOAD_SHARED_DEPS").is_some_and(|v| v == "0")
        || !rustc.args.iter().any(|arg| arg == "prefer-dynamic")
    {
        return None;
    }
    let manifest = package.manifest_dir.join("Cargo.toml");
    // This platform's dependencies only: others were never downloaded.
    let target = Manifest::current().target;
    let metadata = cargo_json::metadata(
        cargo,
        &manifest,
        &["--offline", "--filter-platform", target],
    );
    let metadata = match metadata {
        Ok(metadata) => metadata,
        Err(error) => {
            tracing::warn!(
                "cannot read the dependencies of `{}`: {error}",
                package.name
            );
            return None;
        }
    };
    let shareable = shareable(&metadata, package);
    let externs: Vec<(&str, String)> = rustc
        .externs()
        .filter(|(name, path)| shareable.contains(*name) && path.ends_with(".rlib"))
        .collect();
    if externs.is_empty() {
        return None;
    }
    let flags = linking_flags(&rustc.args);
    let key = key(package, rustc, &externs, &flags);
    let name = format!(
        "{}{CRATE}-{key:016x}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let library = dir.join(&name);
    let linker = linker(&rustc.args);
    if library.is_file() {
        return Some(Dependencies::new(library, linker));
    }
    match build(rustc, dir, key, &name, &externs, &flags) {
        Ok(()) => {
            tracing::debug!(
                ?library,
                crates = externs.len(),
                "built the dependencies library"
            );
            Some(Dependencies::new(library, linker))
        }
        Err(error) => {
            tracing::warn!(
                "linking the dependencies of `{}` into every reload instead: {error}",
                package.name
            );
            None
        }
    }
}

/// Names (as `extern crate` sees them) of the direct dependencies of
/// `package` that can go into the shared library.
fn shareable(metadata: &Metadata, package: &Package) -> BTreeSet<String> {
    let Some(resolve) = &metadata.resolve else {
        return BTreeSet::new();
    };
    let packages: HashMap<&str, &cargo_json::Package> = metadata
        .packages
        .iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    let nodes: HashMap<&str, &Node> = resolve
        .nodes
        .iter()
        .map(|node| (node.id.as_str(), node))
        .collect();
    let ours = metadata.packages.iter().find(|p| {
        p.name == package.name
            && Path::new(&p.manifest_path).parent() == Some(&*package.manifest_dir)
    });
    let Some(node) = ours.and_then(|p| nodes.get(p.id.as_str())) else {
        return BTreeSet::new();
    };
    let mut memo = HashMap::new();
    normal_deps(node)
        .filter(|dep| immutable(&dep.pkg, &packages, &nodes, &mut memo))
        .map(|dep| dep.name.clone())
        .collect()
}

fn normal_deps(node: &Node) -> impl Iterator<Item = &NodeDep> {
    node.deps.iter().filter(|dep| dep.is_normal())
}

/// From a registry or git, and so is everything it links; no hotreload
/// crate (its registry must stay in the reloaded library).
fn immutable<'a>(
    id: &'a str,
    packages: &HashMap<&str, &cargo_json::Package>,
    nodes: &HashMap<&'a str, &'a Node>,
    memo: &mut HashMap<&'a str, bool>,
) -> bool {
    if let Some(&known) = memo.get(id) {
        return known;
    }
    let verdict = packages
        .get(id)
        .is_some_and(|package| package.source.is_some() && !package.name.starts_with("hotreload-"))
        && nodes.get(id).is_some_and(|node| {
            normal_deps(node).all(|dep| immutable(&dep.pkg, packages, nodes, memo))
        });
    memo.insert(id, verdict);
    verdict
}

/// The hot build's options that matter to linking the dependencies:
/// search paths, target, panic strategy, linker and its arguments, code
/// generation. Not its identity (`metadata`, `extra-filename`) or its
/// incremental directory.
fn linking_flags(args: &[String]) -> Vec<String> {
    let mut flags = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-L" | "--target" => {
                if let Some(value) = args.next() {
                    flags.extend([arg.clone(), value.clone()]);
                }
            }
            "-C" => {
                let Some(value) = args.next() else { continue };
                let option = value.split('=').next().unwrap_or_default();
                if !matches!(option, "metadata" | "extra-filename" | "incremental") {
                    flags.extend([arg.clone(), value.clone()]);
                }
            }
            _ if arg.starts_with("-L") || arg.starts_with("--target=") => flags.push(arg.clone()),
            _ => {}
        }
    }
    flags
}

/// Identifies the library's inputs: the same key means the same library.
/// A stable hash: the key names a file that later runs look for.
fn key(package: &Package, rustc: &Rustc, externs: &[(&str, String)], flags: &[String]) -> u64 {
    let mut hasher = LayoutHasher::default();
    hasher.tag(&package.name);
    hasher.tag(&rustc.program);
    flags.iter().for_each(|flag| hasher.tag(flag));
    for (name, path) in externs {
        hasher.tag(name);
        hasher.tag(path);
        // A rebuilt dependency keeps its file name.
        if let Ok(meta) = std::fs::metadata(path) {
            let modified = meta
                .modified()
                .ok()
                .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                .unwrap_or_default();
            hasher.write(&meta.len().to_le_bytes());
            hasher.write(&modified.as_nanos().to_le_bytes());
        }
    }
    hasher.finish()
}

/// Compiles the library.
fn build(
    rustc: &Rustc,
    dir: &Path,
    key: u64,
    name: &str,
    externs: &[(&str, String)],
    flags: &[String],
) -> Result<(), String> {
    let mut text = String::from(
        "//! Generated by hotreload: the dependencies a hot build links once.\n\
         #![allow(unused_extern_crates)]\n",
    );
    for (crate_name, _) in externs {
        text.push_str(&format!("pub extern crate {crate_name};\n"));
    }
    make_in_scratch(dir, name, |scratch| {
        let source = scratch.join("lib.rs");
        write(&source, text.as_bytes())?;
        let mut command = rustc.base_command();
        command
            .args([
                "--crate-name",
                CRATE,
                "--edition=2021",
                "--crate-type",
                "dylib",
            ])
            .arg(&source)
            .args(["-C", "prefer-dynamic", "-C"])
            .arg(format!("extra-filename=-{key:016x}"))
            .arg("--out-dir")
            .arg(scratch)
            .args(flags);
        for (crate_name, path) in externs {
            command.arg("--extern").arg(format!("{crate_name}={path}"));
        }
        succeed(&mut command, "rustc")
    })?;
    remove_others(dir, name);
    Ok(())
}

/// Makes `dir/name` in a scratch directory beside it (`make` gets the
/// scratch directory and leaves `name` there) and moves it into place in
/// one rename, so a half-written file is never found by a later run.
fn make_in_scratch(
    dir: &Path,
    name: &str,
    make: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    let scratch = dir.join(format!("building-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let result = make(&scratch).and_then(|()| {
        std::fs::rename(scratch.join(name), dir.join(name))
            .map_err(|e| format!("cannot move {name} into place: {e}"))
    });
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Writes `bytes` to `path`; the error names the file. (Also
/// `stage::one_copy`'s.)
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs `command`; its stderr is the error if it fails. (Also
/// `stage::one_copy`'s.)
pub(crate) fn succeed(command: &mut Command, program: &str) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// Deletes the package's older libraries and their stubs: each library is
/// tens of MB. A program still running one keeps its mapping; its next
/// build finds the file gone and goes through cargo (see `build::build`).
fn remove_others(dir: &Path, keep: &str) {
    let prefix = format!("{}{CRATE}-", std::env::consts::DLL_PREFIX);
    for dir in [dir.to_path_buf(), dir.join("stub")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name != keep {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The linker the hot build uses (`-C linker=`), else `cc` as rustc's.
fn linker(args: &[String]) -> &str {
    args.windows(2)
        .filter(|pair| pair[0] == "-C")
        .filter_map(|pair| pair[1].strip_prefix("linker="))
        .next_back()
        .unwrap_or("cc")
}

/// Makes (or finds) the stub of `library`: `stub/<same name>` beside it,
/// an empty shared object with the same soname and `.rustc` section.
fn make_stub(library: &Path, linker: &str) -> Result<PathBuf, String> {
    use object::{Object, ObjectSection};
    let dir = library.parent().unwrap_or(Path::new(".")).join("stub");
    let name = library
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or("the library's name is not UTF-8")?;
    let stub = dir.join(name);
    if stub.is_file() {
        return Ok(stub);
    }
    let bytes = std::fs::read(library).map_err(|e| format!("cannot read the library: {e}"))?;
    let file =
        object::File::parse(&*bytes).map_err(|e| format!("cannot parse the library: {e}"))?;
    let metadata = file
        .section_by_name(".rustc")
        .and_then(|section| section.data().ok())
        .ok_or("the library has no crate metadata")?;
    let mut object =
        object::write::Object::new(file.format(), file.architecture(), file.endianness());
    let section = object.add_section(
        Vec::new(),
        b".rustc".to_vec(),
        object::SectionKind::Metadata,
    );
    object.append_section_data(section, metadata, 1);
    let object = object
        .write()
        .map_err(|e| format!("cannot write the stub's object: {e}"))?;

    make_in_scratch(&dir, name, |scratch| {
        let input = scratch.join("metadata.o");
        write(&input, &object)?;
        let mut command = Command::new(linker);
        command
            .args(["-shared", "-nostdlib", "-o"])
            .arg(scratch.join(name))
            .arg(format!("-Wl,-soname,{name}"))
            .arg(&input);
        succeed(&mut command, linker)
    })?;
    Ok(stub)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn linking_flags_keep_search_paths_and_codegen_but_not_identity() {
        let args = words(
            "--crate-name game src/lib.rs --crate-type cdylib \
             -C metadata=abc -C extra-filename=-abc -C incremental=/t/inc \
             -C panic=abort -C prefer-dynamic -C link-arg=-Wl,-O0 \
             -L dependency=/t/deps -Lnative=/t/out --target x86_64-unknown-linux-gnu \
             --extern serde=/t/deps/libserde-1.rlib",
        );
        assert_eq!(
            linking_flags(&args),
            words(
                "-C panic=abort -C prefer-dynamic -C link-arg=-Wl,-O0 \
                 -L dependency=/t/deps -Lnative=/t/out --target x86_64-unknown-linux-gnu"
            )
        );
    }

    /// A resolved graph: `(name, from a registry, normal dependencies)`, as
    /// `cargo metadata` prints it.
    fn metadata(packages: &[(&str, bool, &[&str])]) -> Metadata {
        let id = |name: &str| format!("\"{name}-id\"");
        let list = |items: Vec<String>| items.join(",");
        let package_json = |(name, registry, _): &(&str, bool, &[&str])| {
            let source = if *registry {
                "\"registry+https://github.com/rust-lang/crates.io-index\""
            } else {
                "null"
            };
            format!(
                r#"{{"name":"{name}","version":"1.0.0","id":{},"source":{source},
                "dependencies":[],"targets":[],"features":{{}},
                "manifest_path":"/ws/{name}/Cargo.toml"}}"#,
                id(name)
            )
        };
        let node_json = |(name, _, deps): &(&str, bool, &[&str])| {
            let deps = deps.iter().map(|d| {
                format!(
                    r#"{{"name":"{}","pkg":{},"dep_kinds":[{{"kind":null,"target":null}}]}}"#,
                    d.replace('-', "_"),
                    id(d)
                )
            });
            format!(
                r#"{{"id":{},"dependencies":[],"deps":[{}]}}"#,
                id(name),
                list(deps.collect())
            )
        };
        let json = format!(
            r#"{{"packages":[{}],"workspace_members":[{}],"resolve":{{"root":null,"nodes":[{}]}},
            "workspace_root":"/ws","target_directory":"/ws/target","version":1}}"#,
            list(packages.iter().map(package_json).collect()),
            id(packages[0].0),
            list(packages.iter().map(node_json).collect()),
        );
        miniserde::json::from_str(&json).unwrap()
    }

    #[test]
    fn only_dependencies_that_cannot_change_are_shared() {
        let metadata = metadata(&[
            (
                "game",
                false,
                &["bevy_ecs", "serde", "logic", "hotreload-runtime", "patched"],
            ),
            ("bevy_ecs", true, &["serde"]),
            ("serde", true, &[]),
            // A path dependency: edited while the program runs.
            ("logic", false, &["serde"]),
            // Its registry must stay in the reloaded library.
            ("hotreload-runtime", true, &["hotreload-core"]),
            ("hotreload-core", true, &[]),
            // A registry crate on a path crate (a `[patch]`).
            ("patched", true, &["logic"]),
        ]);
        let package = Package::new("game", Path::new("/ws/game"));
        let shared: Vec<String> = shareable(&metadata, &package).into_iter().collect();
        assert_eq!(shared, ["bevy_ecs", "serde"]);
    }

    #[test]
    fn the_linker_is_the_hot_builds_own() {
        assert_eq!(linker(&words("--crate-name game -C opt-level=0")), "cc");
        assert_eq!(
            linker(&words("-C linker=clang -C linker=/usr/bin/gcc")),
            "/usr/bin/gcc"
        );
    }
}
