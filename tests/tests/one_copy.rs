//! Reloaded code runs on the program's own std and dependencies (the
//! runtime's `program` module): after reloads it sees the tokio runtime it
//! is polled on, the logger the program set, the program's types, and its
//! panics, wherever they start, are caught without killing the program.

use hotreload_tests::{Fixture, Program, Stream, field, fixture_target_dir, has, number};

fn is_tick(line: &str) -> bool {
    line.starts_with("tick=")
}

#[test]
fn reloaded_code_sees_the_programs_runtime_logger_types_and_panics() {
    let (fixture, mut program) = Fixture::running("onecopy");
    let first = program.expect_stdout("a tick", is_tick);
    assert_eq!(field(&first, "runtime"), Some("true"), "{first}");
    let ready = program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    assert!(!ready.contains("own std"), "{ready}");

    // Every hot function reloaded: the probe, both sides of a `dyn Any`,
    // and the three nested ones.
    let edits = [
        ("let generation = 0;", "let generation = 1;"),
        ("Box::new(Token(7))", "Box::new(Token(8))"),
        (".copied().unwrap_or(0)", ".map_or(0, |n| n + 1)"),
        ("middle(n) + 1", "middle(n) + 10"),
        ("inner(n) + 1", "inner(n) + 100"),
        ("{\n    n\n}", "{\n    n + 1000\n}"),
    ];
    for (from, to) in edits {
        fixture.edit("src/lib.rs", from, to);
    }
    let after = program.expect_stdout("a tick of the new code", |line| {
        is_tick(line) && has("gen", "1")(line) && has("nested", "1110")(line)
    });
    // tokio: `Handle::try_current()`, a spawned task, a timer.
    assert_eq!(field(&after, "runtime"), Some("true"), "{after}");
    assert_eq!(field(&after, "spawned"), Some("42"), "{after}");
    // Types: made in reloaded code and downcast by the program, and back.
    assert_eq!(field(&after, "downcast"), Some("8"), "{after}");
    assert_eq!(field(&after, "taken"), Some("6"), "{after}");
    // The program's logger, set before any reload, printed the new line
    // (printed by the same probe call, before the tick line).
    assert!(
        program
            .seen(Stream::Stdout)
            .contains(&"log text=logged_by_generation_1"),
        "no log line from reloaded code"
    );
    assert!(
        !program
            .seen(Stream::Stderr)
            .iter()
            .any(|line| line.contains("HOT040")),
        "a panic before any was made: {:?}",
        program.seen(Stream::Stderr)
    );

    // Panics in reloaded code three deep, in each position, and in the
    // program's own closure called from reloaded code: each is reported
    // and rolled back, and the program goes on.
    let panics = [
        (
            "inner",
            "    n + 1000\n",
            "    assert!(n == u64::MAX, \"inner\");\n    n + 1000\n",
        ),
        (
            "middle",
            "inner(n) + 100",
            "{ assert!(n == u64::MAX, \"middle\"); inner(n) + 100 }",
        ),
        (
            "outer",
            "middle(n) + 10",
            "{ assert!(n == u64::MAX, \"outer\"); middle(n) + 10 }",
        ),
        ("call_back", "    f(n)\n", "    f(u64::MAX)\n"),
    ];
    for (function, from, to) in panics {
        fixture.edit("src/lib.rs", from, to);
        let report = program.expect_stderr("the panic report", |line| line.contains("HOT040"));
        assert!(
            report.contains(&format!("`onecopy::{function}`")),
            "the report names {function}: {report}"
        );
        program.expect_stdout("update=panicked", has("update", "panicked"));
        let tick = program.expect_stdout("a tick after the panic", is_tick);
        assert_eq!(number(&tick, "called"), 0, "{tick}");
        assert_eq!(field(&tick, "gen"), Some("1"), "{tick}");
    }
}

#[test]
fn without_one_copy_the_ready_line_says_so() {
    let (_fixture, mut program) = Fixture::running_with("onecopy", &[("HOTRELOAD_ONE_COPY", "0")]);
    let ready = program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    assert!(
        ready.ends_with(
            "; reloaded code gets its own std and dependencies (turned off by \
             HOTRELOAD_ONE_COPY=0)"
        ),
        "{ready}"
    );
}

#[test]
fn a_program_built_with_other_features_is_refused_with_hot015() {
    let fixture = Fixture::new("onecopy");
    let built = fixture.cargo(&["build", "--bin", "onecopy", "--features", "extra"]);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let exe = fixture_target_dir().join("debug/onecopy");
    let mut program = Program::spawn(std::process::Command::new(exe));
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    fixture.edit("src/lib.rs", "let generation = 0;", "let generation = 1;");
    let refusal = program.expect_stderr("the refusal", |line| line.contains("HOT015"));
    assert!(refusal.contains("HOT015 `onecopy`"), "{refusal}");
    // The old code goes on (a tick printed after the failed update).
    program.expect_stdout("update=other", has("update", "other"));
    let tick = program.expect_stdout("a tick", is_tick);
    assert_eq!(field(&tick, "gen"), Some("0"), "{tick}");
}
