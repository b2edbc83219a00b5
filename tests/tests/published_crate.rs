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

/// Where to edit each function with a body in `text`: just after its
/// opening brace (`fn name` ... the first `{` before any `;`).
fn bodies(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut at = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("fn ") {
        let start = from + found;
        from = start + 3;
        let word_start =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let named = text[from..].starts_with(|c: char| c.is_alphabetic() || c == '_');
        if !word_start || !named {
            continue;
        }
        let rest = &text[from..];
        match (rest.find('{'), rest.find(';')) {
            (Some(open), semi) if semi.is_none_or(|semi| open < semi) => at.push(from + open + 1),
            _ => {}
        }
    }
    at
}

/// A program that uses `crate_name` a little (so that its code is linked)
/// while reloading.
fn probe(crate_name: &str) -> String {
    let uses = match crate_name {
        "semver" => {
            "let version = semver::Version::parse(\"1.2.3-pre+build\").expect(\"a version\");\n    \
             let req = semver::VersionReq::parse(\">=1.2, <2\").expect(\"a requirement\");\n    \
             std::hint::black_box(req.matches(&version));"
        }
        "camino" => {
            "let path = camino::Utf8PathBuf::from(\"a/b\").join(\"c.txt\");\n    \
             std::hint::black_box(path.extension());"
        }
        _ => "",
    };
    format!(
        "fn main() {{\n    \
         let mut hot = hotreload_runtime::Reloader::start().expect(\"hot reload\");\n    \
         {uses}\n    println!(\"ready\");\n    \
         for _ in 0..120_000 {{\n        hot.update();\n        \
         std::thread::sleep(std::time::Duration::from_millis(5));\n    }}\n}}\n"
    )
}

/// The functions of a file to edit: every `step`th with a body, where to
/// insert (just after the opening brace).
fn edit_points(text: &str) -> Vec<usize> {
    let at = bodies(text);
    let step = (at.len() / 8).max(1);
    at.into_iter().step_by(step).collect()
}

/// Real code's edits in a running program: a body of each of many
/// functions of published crates marked `#[hot]` everywhere, edited in
/// turn (up to 8 a file). Each save must reload; none may find that the
/// pruned quick build did not compile (a name the pruning cannot see, or
/// a thin expansion that does not compile: a trait impl's `Self::Err`
/// did); every edit of a hot body after the first build is a quick one.
#[test]
fn edits_of_published_crates_functions_build_pruned_and_quick() {
    for name in crates() {
        let fixture = Fixture::copy_of(&published_source(&name), &name);
        let published = fixture.read("Cargo.toml");
        let probe_bin =
            "\n[[bin]]\nname = \"hotreload_probe\"\npath = \"src/bin/hotreload_probe.rs\"\n";
        fixture.write("Cargo.toml", &(manifest(&published) + probe_bin));
        let _ = std::fs::remove_dir_all(fixture.path("benches"));
        let files = sources(&fixture.path("src"));
        for file in &files {
            let text = std::fs::read_to_string(file).expect("read source");
            std::fs::write(file, mark_hot(&text).0).expect("write source");
        }
        std::fs::create_dir_all(fixture.path("src/bin")).expect("src/bin");
        let crate_name = name.rsplit_once('-').map_or(name.as_str(), |(n, _)| n);
        fixture.write("src/bin/hotreload_probe.rs", &probe(crate_name));
        let mut program = fixture.start("hotreload_probe");
        program.expect_stderr("the ready line", |line| {
            line.starts_with("[hotreload] ready:")
        });

        let mut edits: Vec<(String, usize)> = Vec::new();
        for file in &files {
            let relative = file
                .strip_prefix(fixture.path(""))
                .expect("under the fixture")
                .to_string_lossy()
                .into_owned();
            let count = edit_points(&fixture.read(&relative)).len();
            edits.extend((0..count).map(|nth| (relative.clone(), nth)));
        }
        assert!(
            edits.len() >= 20,
            "{name}: {} functions to edit",
            edits.len()
        );
        let mut quick = 0;
        for (index, (file, nth)) in edits.iter().enumerate() {
            // Found again in the text as it is now (earlier edits moved it).
            let text = fixture.read(file);
            let at = edit_points(&text)[*nth];
            fixture.write(
                file,
                &format!(
                    "{} let _hotreload_probe = {index};{}",
                    &text[..at],
                    &text[at..]
                ),
            );
            let report = program.expect_stderr("the reload's report", hotreload_tests::is_report);
            let reloaded = report.starts_with("[hotreload] reloaded")
                || report.starts_with("[hotreload] rebuilt");
            assert!(
                reloaded && !report.contains("did not compile"),
                "{name}, edit {index} in {file}: {report}"
            );
            // Every edit of a hot function's body after the first build
            // (a full one) is a quick build; an edit elsewhere (a generic
            // or `const` function) is not.
            let hot_changed = report.starts_with("[hotreload] reloaded");
            assert!(
                index == 0 || !hot_changed || report.contains("quick build,"),
                "{name}, edit {index} in {file}: {report}"
            );
            quick += usize::from(report.contains("quick build,"));
        }
        eprintln!("{name}: {quick} of {} edits were quick builds", edits.len());
        assert!(
            quick >= 5,
            "{name}: {quick} of {} edits were quick",
            edits.len()
        );
    }
}
