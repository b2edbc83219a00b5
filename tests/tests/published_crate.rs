//! Real code, not fixtures written for the tests: the published source of
//! `semver` (a well-tested crate with trait impls, `impl<'a>`, `const fn`s,
//! unsafe code and many free functions), with `#[hot]` on every item the
//! rules allow, passes its own test suite exactly as without the marks.

use std::path::{Path, PathBuf};

use hotreload_tests::{Fixture, mark::mark_hot, workspace_root};

/// The crate, a dev-dependency of this package so that cargo has fetched
/// and unpacked it.
const CRATE: &str = "semver-1.0.28";

fn published_source() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cargo"),
        PathBuf::from,
    );
    let registry = home.join("registry/src");
    std::fs::read_dir(&registry)
        .expect("cargo's registry sources")
        .flatten()
        .map(|index| index.path().join(CRATE))
        .find(|dir| dir.join("Cargo.toml").is_file())
        .unwrap_or_else(|| panic!("{CRATE} is not unpacked under {}", registry.display()))
}

/// The published manifest without benches and dev-dependencies (the
/// crate's own tests need neither), depending on this runtime with
/// `reload` on, as a workspace of its own.
fn manifest(published: &str) -> String {
    let mut kept = String::new();
    let mut keep = true;
    for line in published.lines() {
        if line.starts_with('[') {
            keep = !line.contains("bench") && !line.contains("dev-dependencies");
        }
        if keep {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    let runtime = workspace_root().join("hotreload-runtime");
    kept.push_str(&format!(
        "\n[dependencies.hotreload-runtime]\npath = {:?}\nfeatures = [\"reload\"]\n\n[workspace]\n",
        runtime.display()
    ));
    kept
}

/// `cargo test` of the copy: the number of tests that passed.
fn passed(fixture: &Fixture) -> usize {
    let output = fixture.cargo(&["test"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo test failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum()
}

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_published_crate_passes_its_own_tests_with_hot_on_everything_allowed() {
    let fixture = Fixture::copy_of(&published_source(), "semver");
    let published = fixture.read("Cargo.toml");
    fixture.write("Cargo.toml", &manifest(&published));
    let _ = std::fs::remove_dir_all(fixture.path("benches"));
    let unmarked = passed(&fixture);
    assert!(unmarked > 30, "{unmarked} tests passed without #[hot]");

    let mut marks = 0;
    for file in sources(&fixture.path("src")) {
        let text = std::fs::read_to_string(&file).expect("read source");
        let (marked, count) = mark_hot(&text);
        std::fs::write(&file, marked).expect("write source");
        marks += count;
    }
    assert!(marks >= 30, "only {marks} items marked");
    let marked = passed(&fixture);
    eprintln!("{CRATE}: {marked} of {unmarked} tests passed with {marks} items marked #[hot]");
    assert_eq!(marked, unmarked, "with {marks} items marked #[hot]");
}
