//! The runtime as a user takes it from crates.io: by version, from a
//! registry, not by a path into this repository. The crates of this
//! checkout are packaged (`cargo package`, what `cargo publish` uploads),
//! unpacked into a local directory source beside the vendored
//! dependencies, and a program that names `hotreload-runtime = "0.1"` is
//! built from there and reloads its edits. Everything stays on this
//! machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hotreload_tests::{
    BUILD_TIMEOUT, Fixture, Program, fixture_target_dir, run_with_timeout, workspace_root,
};

/// The published crates, in the order cargo must package them.
const CRATES: [&str; 4] = [
    "hotreload-syntax",
    "hotreload-macros",
    "hotreload-core",
    "hotreload-runtime",
];

/// Runs `command` (killed after the build timeout); its stdout.
fn run(mut command: Command, what: &str) -> String {
    command.stdin(Stdio::null());
    let output = run_with_timeout(command, BUILD_TIMEOUT);
    assert!(
        output.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// `cargo package` of the published crates (unverified: the test builds
/// them itself); the `.crate` files.
fn package(target: &Path) -> Vec<PathBuf> {
    let mut command = cargo();
    command
        .current_dir(workspace_root())
        .args(["package", "--no-verify", "--allow-dirty", "--target-dir"])
        .arg(target);
    for name in CRATES {
        command.args(["-p", name]);
    }
    run(command, "cargo package");
    let version = env!("CARGO_PKG_VERSION");
    CRATES
        .iter()
        .map(|name| {
            target
                .join("package")
                .join(format!("{name}-{version}.crate"))
        })
        .collect()
}

/// Unpacks a `.crate` into a directory source, with the checksum file
/// cargo wants there (no per-file sums: the package's own is enough).
fn unpack(file: &Path, vendor: &Path) {
    let mut tar = Command::new("tar");
    tar.arg("xzf").arg(file).arg("-C").arg(vendor);
    run(tar, "tar (unpack a .crate)");
    let sum = run(
        {
            let mut sha = Command::new("sha256sum");
            sha.arg(file);
            sha
        },
        "sha256sum",
    );
    let sum = sum.split_whitespace().next().expect("a checksum");
    let name = file.file_stem().expect("a .crate file name");
    std::fs::write(
        vendor.join(name).join(".cargo-checksum.json"),
        format!("{{\"files\":{{}},\"package\":\"{sum}\"}}"),
    )
    .expect("write .cargo-checksum.json");
}

/// Serves the fixture's dependencies from a local directory source, in
/// `work`: its registry dependencies vendored from the manifest with the
/// runtime named by path (`cargo vendor` copies registry packages only),
/// and this checkout's crates beside them, as a registry has them.
fn local_registry(fixture: &Fixture, work: &Path) {
    let vendor = work.join("vendor");
    let manifest = fixture.read("Cargo.toml");
    let runtime = workspace_root().join("hotreload-runtime");
    fixture.write(
        "Cargo.toml",
        &manifest.replace(
            "hotreload-runtime = { version = \"0.1\"",
            &format!("hotreload-runtime = {{ path = {:?}", runtime.display()),
        ),
    );
    let vendored = fixture.cargo(&["vendor", "--versioned-dirs", &vendor.to_string_lossy()]);
    assert!(
        vendored.status.success(),
        "cargo vendor failed:\n{}",
        String::from_utf8_lossy(&vendored.stderr)
    );
    for file in package(&work.join("target")) {
        unpack(&file, &vendor);
    }
    fixture.write("Cargo.toml", &manifest);
    std::fs::create_dir_all(fixture.path(".cargo")).expect("create .cargo");
    fixture.write(
        ".cargo/config.toml",
        &format!(
            "[source.crates-io]\nreplace-with = \"local\"\n\n[source.local]\ndirectory = {:?}\n",
            vendor.display()
        ),
    );
}

/// Builds the fixture's program from the local registry in a target
/// directory of its own (the same packages from another source would
/// rebuild the other fixtures' copies each time); the target directory.
fn build_from_registry(fixture: &Fixture) -> PathBuf {
    let target = fixture_target_dir().with_file_name("hotreload-registry");
    // Cargo takes a package from a registry for immutable and would reuse
    // its build from an earlier run of this test: forget our crates'.
    if let Ok(entries) = std::fs::read_dir(target.join("debug/.fingerprint")) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("hotreload-")
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let mut build = cargo();
    build
        .args(["build", "--offline", "--bin", "registry", "--manifest-path"])
        .arg(fixture.path("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        // Cargo reads `.cargo/config.toml` from where it runs.
        .current_dir(fixture.path("."));
    run(build, "cargo build of the program");
    target
}

#[test]
fn a_program_that_takes_the_runtime_from_a_registry_reloads_its_edits() {
    let fixture = Fixture::new("registry");
    let work = tempfile::tempdir().expect("a directory for the registry");
    local_registry(&fixture, work.path());
    let target = build_from_registry(&fixture);
    let lock = fixture.read("Cargo.lock");
    let entry = lock
        .split("[[package]]")
        .find(|entry| entry.contains("name = \"hotreload-runtime\""))
        .expect("the runtime in Cargo.lock");
    assert!(
        entry.contains("source = \"registry+"),
        "the runtime did not come from the registry:\n{entry}"
    );

    let mut program = Program::spawn(Command::new(target.join("debug/registry")));
    program.expect_stdout("the program to start", |line| line == "ready");
    program.expect_stdout("the first value", |line| line == "value=1");
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    fixture.edit("src/lib.rs", "format(1_u32)", "format(22_u32)");
    program.expect_stderr("the reload", |line| {
        line.starts_with("[hotreload] reloaded value")
    });
    program.expect_stdout("the new code's value", |line| line == "value=22");
    // The first build since start is cargo's; later ones are direct
    // builds, which link the dependencies through the shared library.
    fixture.edit("src/lib.rs", "\"value={}\"", "\"number={}\"");
    let reloaded = program.expect_stderr("the second reload", |line| {
        line.starts_with("[hotreload] reloaded value (generation 2)")
    });
    program.expect_stdout("the newer code's value", |line| line == "number=22");
    // The registry dependency came from the shared dependencies library,
    // as it does for a runtime named by path.
    assert!(
        program
            .mapped_libraries()
            .iter()
            .any(|name| name.starts_with("libhotreload_deps-")),
        "no shared dependencies library mapped after `{reloaded}`: {:?}",
        program.mapped_libraries()
    );
}
