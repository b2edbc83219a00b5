//! `#[hot]` on valid code never changes what it means: the `valid`
//! fixture (every shape of item `#[hot]` accepts, with tests of what each
//! does) compiles, passes the same tests and gives the same warnings with
//! the runtime's `reload` feature on and off.

use hotreload_tests::Fixture;

/// `cargo test` of the fixture: (passed tests, warning lines), after
/// asserting that it succeeded.
fn cargo_test(fixture: &Fixture, features: &[&str]) -> (usize, Vec<String>) {
    let mut args = vec!["test", "--lib"];
    args.extend(features);
    let output = fixture.cargo(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "cargo test {features:?} failed:\n{stderr}\n{stdout}"
    );
    let passed = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum();
    // Each warning about the fixture's code, with its location:
    // `warning: ...` and `--> src/lib.rs:line:col`.
    let lines: Vec<&str> = stderr.lines().collect();
    let warnings = lines
        .windows(2)
        .filter(|pair| pair[0].starts_with("warning: ") && pair[1].trim().starts_with("--> src/"))
        .map(|pair| format!("{} {}", pair[0], pair[1].trim()))
        .collect();
    (passed, warnings)
}

#[test]
fn valid_code_compiles_and_behaves_the_same_with_reload_on_and_off() {
    let fixture = Fixture::new("valid");
    let (passed_off, warnings_off) = cargo_test(&fixture, &[]);
    let (passed_on, warnings_on) = cargo_test(&fixture, &["--features", "reload"]);
    assert!(passed_off >= 12, "{passed_off} tests passed");
    assert_eq!(passed_on, passed_off, "the same tests pass");
    // The warnings the fixture has on purpose (one on an item, one on a
    // signature), in both.
    for expected in [
        "function `unused_private` is never used",
        "eliding a lifetime that's named elsewhere is confusing",
    ] {
        assert!(
            warnings_off.iter().any(|w| w.contains(expected)),
            "{expected}: {warnings_off:#?}"
        );
    }
    assert_eq!(warnings_on, warnings_off, "the same warnings, once each");
}
