//! Real code, not fixtures written for the tests: the published sources of
//! well-tested crates, with `#[hot]` on every item the rules allow, pass
//! their own test suites exactly as without the marks. `semver` has trait
//! impls, `impl<'a>`, `const fn`s, unsafe code and many free functions;
//! `camino` unsized types, `Deref`/`DerefMut` and iterators over borrows.

use std::path::{Path, PathBuf};

use hotreload_tests::{Fixture, mark::mark_hot, workspace_root};

/// The crates, dev-dependencies of this package so that cargo has fetched
/// and unpacked them. `HOTRELOAD_PUBLISHED_CRATE=name-version` tries
/// another one that cargo has unpacked instead.
const CRATES: &[&str] = &["semver-1.0.28", "camino-1.2.6"];

fn crates() -> Vec<String> {
    match std::env::var("HOTRELOAD_PUBLISHED_CRATE") {
        Ok(name) => vec![name],
        Err(_) => CRATES.iter().map(|name| name.to_string()).collect(),
    }
}

fn published_source(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cargo"),
        PathBuf::from,
    );
    let registry = home.join("registry/src");
    std::fs::read_dir(&registry)
        .expect("cargo's registry sources")
        .flatten()
        .map(|index| index.path().join(name))
        .find(|dir| dir.join("Cargo.toml").is_file())
        .unwrap_or_else(|| panic!("{name} is not unpacked under {}", registry.display()))
}

/// The published manifest without benches and their criterion (the
/// crate's own tests need neither), depending on this runtime with
/// `reload` on, as a workspace of its own.
fn manifest(published: &str) -> String {
    let mut kept = String::new();
    let mut keep = true;
    for line in published.lines() {
        if line.starts_with('[') {
            keep = !line.contains("bench") && !line.contains("criterion");
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
    // Unit and integration tests; doctests count differently once
    // items are expanded.
    let output = fixture.cargo(&["test", "--tests"]);
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
fn published_crates_pass_their_own_tests_with_hot_on_everything_allowed() {
    for name in crates() {
        let fixture = Fixture::copy_of(&published_source(&name), &name);
        let published = fixture.read("Cargo.toml");
        fixture.write("Cargo.toml", &manifest(&published));
        let _ = std::fs::remove_dir_all(fixture.path("benches"));
        let unmarked = passed(&fixture);
        assert!(unmarked > 0, "{name}: no test passed without #[hot]");

        let mut marks = 0;
        for file in sources(&fixture.path("src")) {
            let text = std::fs::read_to_string(&file).expect("read source");
            let (marked, count) = mark_hot(&text);
            std::fs::write(&file, marked).expect("write source");
            marks += count;
        }
        assert!(marks > 0, "{name}: nothing marked");
        let marked = passed(&fixture);
        eprintln!("{name}: {marked} of {unmarked} tests passed with {marks} items marked #[hot]");
        assert_eq!(marked, unmarked, "{name}, with {marks} items marked #[hot]");
    }
}
