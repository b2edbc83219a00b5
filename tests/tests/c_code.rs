//! The program's C code is the program's for reloaded code too: a hot
//! function that runs queries on the program's SQLite connection (SQLite
//! bundled, compiled into the program by `libsqlite3-sys`) and reads
//! mimalloc's process-wide options (its C API through `libmimalloc-sys`)
//! keeps working after reloads, on the program's copy of each C library.
//! A C function the program does not contain is refused with HOT020 naming
//! it.

use hotreload_tests::{Fixture, Stream, field, has, number};

fn is_report(line: &str) -> bool {
    line.starts_with("marker=")
}

#[test]
fn reloaded_code_calls_the_programs_own_c_libraries() {
    let (fixture, mut program) = Fixture::running("csys");
    // Printed before `ready`.
    let sqlite = program
        .seen(Stream::Stdout)
        .into_iter()
        .find_map(|line| line.strip_prefix("program sqlite="))
        .expect("the program's address of sqlite3_libversion")
        .to_string();
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    let mut rows = number(&program.expect_stdout("a report", is_report), "rows");

    // The first edit is a full build, the second a quick one: each links
    // the C libraries' Rust bindings its own way.
    for (from, to) in [("\"v0\"", "\"v1\""), ("\"v1\"", "\"v2\"")] {
        fixture.edit("src/lib.rs", from, to);
        let marker = to.trim_matches('"');
        let line = program.expect_stdout(&format!("a report of {marker}"), |line| {
            is_report(line) && has("marker", marker)(line)
        });
        assert_eq!(
            field(&line, "sqlite"),
            Some(sqlite.as_str()),
            "reloaded code has another SQLite than the program's: {line}"
        );
        assert_eq!(
            field(&line, "option"),
            Some("1234"),
            "reloaded code does not see the option the program set in mimalloc: {line}"
        );
        // Memory from the program's mimalloc, which the program freed.
        assert!(number(&line, "usable") >= 100, "{line}");
        // Rows the old code inserted are there, and the new code's too.
        let now = number(&line, "rows");
        assert!(now > rows, "rows went from {rows} to {now}: {line}");
        rows = now;
    }

    // A C function the program's link left out cannot be the program's:
    // refused, with the name, and the last good code runs on.
    fixture.edit(
        "src/lib.rs",
        "let marker = \"v2\";",
        "let marker = \"v3\";\n    // SAFETY: a plain call.\n    let _ = unsafe { libmimalloc_sys::mi_version() };",
    );
    let refusal = program.expect_stderr("HOT020", |line| line.contains("HOT020"));
    assert!(
        refusal.contains("undefined symbol: mi_version") && refusal.contains("Restart the program"),
        "{refusal}"
    );
    program.expect_stdout("the failure", |line| line == "update=failed code=HOT020");
    let after = program.expect_stdout("a report after the refusal", is_report);
    assert_eq!(field(&after, "marker"), Some("v2"), "{after}");
}
