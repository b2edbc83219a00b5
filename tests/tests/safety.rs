//! Every way a save can go wrong ends in a clear message, a program that
//! keeps running the last good code, and a reload once the save is fixed.
//!
//! "Old code still runs" is read from the status line printed after the
//! program's `update()` reported the failure (`tick_after_update`): a line
//! from code that ran after the event, not one printed before it. And the
//! old code is a reloaded build ([`reload_once`]), so falling back to the
//! program's own code would show too.

use hotreload_tests::{Fixture, Program, field, fixture_target_dir, has, number};

fn report(line: &str) -> bool {
    hotreload_tests::is_report(line)
}

/// A first good edit, so that "the last good code" is a reloaded build,
/// not the code the program was built with.
fn reload_once(fixture: &Fixture, program: &mut Program) {
    fixture.edit("src/words.rs", "\"alpha\"", "\"omega\"");
    program.expect_stdout("the first reload", has("word", "omega"));
    program.expect_stderr("its report", |line| {
        line.starts_with("[hotreload] reloaded")
    });
}

/// `tick` came from the last good code: `value()` as built, `word()` as
/// [`reload_once`] left it.
fn assert_last_good(tick: &str) {
    assert_eq!(
        (field(tick, "value"), field(tick, "word")),
        (Some("1"), Some("omega")),
        "the last good code runs: {tick}"
    );
}

#[test]
fn compile_error_keeps_old_code_then_fix_reloads() {
    let (fixture, mut program) = Fixture::running("basic");
    reload_once(&fixture, &mut program);

    fixture.edit("src/lib.rs", "    1\n}", "    1 +\n}");
    let error = program.expect_stderr("the build error", report);
    assert!(error.contains("HOT001"), "{error}");
    assert!(
        error.contains("keeps running the last good code"),
        "{error}"
    );
    // The compiler's own rendering follows.
    program.expect_stderr("rustc's error", |line| line.starts_with("error"));
    assert_last_good(&program.tick_after_update("failed"));

    fixture.edit("src/lib.rs", "    1 +\n}", "    3\n}");
    program.expect_stdout("the fixed code", has("value", "3"));
}

#[test]
fn panic_in_new_code_rolls_back_and_the_program_keeps_running() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", has("value", "1"));

    fixture.edit(
        "src/lib.rs",
        "    state.ticks += 1;",
        "    state.ticks += 1;\n    if state.ticks > 0 { panic!(\"boom in advance\") }",
    );
    let panic = program.expect_stderr("the panic report", |line| line.contains("HOT040"));
    assert!(
        panic.contains("advance") && panic.contains("boom in advance"),
        "{panic}"
    );
    assert!(panic.contains("rolled back"), "{panic}");
    // The process is alive and runs the old code again: the counter counts
    // one per tick.
    let after = program.tick_after_update("panicked");
    let next = program.next_tick();
    assert_eq!(
        number(&next, "total") - number(&after, "total"),
        1,
        "{after} / {next}"
    );
    assert_eq!(
        number(&next, "ticks") - number(&after, "ticks"),
        1,
        "{after} / {next}"
    );

    // An unrelated edit: the new build still has the panicking `advance`,
    // which stays rolled back.
    fixture.edit("src/lib.rs", "    1\n}", "    2\n}");
    let report = program.expect_stderr("the reload report", |line| {
        line.starts_with("[hotreload] reloaded")
    });
    assert!(
        report.contains("still rolled back") && report.contains("advance"),
        "{report}"
    );
    let later = program.tick_after_update("reloaded");
    let next = program.next_tick();
    assert_eq!(
        number(&next, "total") - number(&later, "total"),
        2,
        "the old advance adds the new value: {later} / {next}"
    );

    fixture.edit(
        "src/lib.rs",
        "    if state.ticks > 0 { panic!(\"boom in advance\") }",
        "    state.total += 100;",
    );
    let fixed = program.tick_after_update("reloaded");
    let then = program.next_tick();
    assert_eq!(
        number(&then, "total") - number(&fixed, "total"),
        102,
        "{fixed} / {then}"
    );
}

#[test]
fn panic_in_a_hot_fn_called_from_a_reloaded_hot_fn_rolls_back() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", has("value", "1"));

    // `advance` (hot, reloaded with the rest of the library) calls
    // `value` (hot): the panic starts two hot calls deep in reloaded code.
    fixture.edit("src/lib.rs", "    1\n}", "    panic!(\"boom in value\")\n}");
    let panic = program.expect_stderr("the panic report", |line| line.contains("HOT040"));
    assert!(
        panic.contains("basic::value") && panic.contains("boom in value"),
        "{panic}"
    );
    assert!(panic.contains("rolled back"), "{panic}");
    // Alive, with the old `value`: each tick adds 1.
    let after = program.tick_after_update("panicked");
    let next = program.next_tick();
    assert_eq!(field(&next, "value"), Some("1"), "{next}");
    assert_eq!(
        number(&next, "total") - number(&after, "total"),
        1,
        "{after} / {next}"
    );
}

#[test]
fn panic_while_polling_a_reloaded_async_fn_rolls_back() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", has("later", "2"));

    fixture.edit(
        "src/lib.rs",
        "    x + 1\n",
        "    panic!(\"boom in later {x}\")\n",
    );
    let panic = program.expect_stderr("the panic report", |line| line.contains("HOT040"));
    assert!(
        panic.contains("basic::later") && panic.contains("boom in later 1"),
        "{panic}"
    );
    // Its argument can be passed again: the call started over with the
    // old code, like a sync one, and never reached the program as a panic.
    assert!(
        panic.contains("rolled back") && panic.contains("the call was retried with it"),
        "{panic}"
    );
    let after = program.tick_after_update("panicked");
    assert_eq!(field(&after, "later"), Some("2"), "{after}");
    assert!(
        !program
            .seen(hotreload_tests::Stream::Stdout)
            .iter()
            .any(|line| field(line, "later") == Some("panicked")),
        "the panicking call ended in a panic"
    );
}

#[test]
fn a_backtrace_through_reloaded_code_has_file_and_line() {
    let (fixture, mut program) = Fixture::running_with("basic", &[("RUST_BACKTRACE", "1")]);
    program.expect_stdout("a tick", has("word", "alpha"));

    fixture.edit(
        "src/words.rs",
        "    \"alpha\"",
        "    panic!(\"boom in word\")",
    );
    // The frame of the reloaded implementation (the program's own
    // trampoline, in words.rs too, has its line from the program's debug
    // info), and the `at file:line` under it.
    program.expect_stderr("the reloaded frame", |line| {
        line.contains("__hotreload_impl_word")
    });
    let at = program.expect_stderr("the line under it", |_| true);
    assert!(
        at.trim_start().starts_with("at ") && at.contains("words.rs:"),
        "{at}"
    );
}

#[test]
fn changed_signature_is_refused_then_revert_reloads() {
    let (fixture, mut program) = Fixture::running("basic");
    reload_once(&fixture, &mut program);

    let (i32_seven, i64_eight) = (
        "damage(&self) -> i32 {\n        7",
        "damage(&self) -> i64 {\n        8",
    );
    fixture.edit("src/lib.rs", i32_seven, i64_eight);
    let refused = program.expect_stderr("the refusal", report);
    assert!(refused.contains("nothing was swapped"), "{refused}");
    let detail = program.expect_stderr("the refusal detail", |line| line.contains("HOT010"));
    assert!(detail.contains("basic::Player::damage"), "{detail}");
    assert!(
        detail.contains("fn(&Player) -> i32") && detail.contains("fn(&Player) -> i64"),
        "{detail}"
    );
    let still = program.tick_after_update("failed");
    assert_eq!(field(&still, "damage"), Some("7"), "{still}");
    assert_last_good(&still);

    // All or nothing: a good edit elsewhere in a refused build waits too.
    fixture.edit("src/lib.rs", "    1\n}", "    2\n}");
    program.expect_stderr("the second refusal", |line| line.contains("HOT010"));
    assert_last_good(&program.tick_after_update("failed"));

    fixture.edit("src/lib.rs", i64_eight, "damage(&self) -> i32 {\n        9");
    let fixed = program.expect_stdout("the reverted signature", has("damage", "9"));
    assert_eq!(field(&fixed, "value"), Some("2"), "{fixed}");
}

#[test]
fn changed_struct_layout_is_refused() {
    let (fixture, mut program) = Fixture::running("basic");
    reload_once(&fixture, &mut program);

    // Same size, same alignment: only the derived deep fingerprint sees
    // that new code would read `total` where the program keeps `ticks`.
    let (in_order, swapped) = (
        "    pub ticks: u64,\n    pub total: i64,\n",
        "    pub total: i64,\n    pub ticks: u64,\n",
    );
    fixture.edit("src/lib.rs", in_order, swapped);
    // And a body edit in the same save, which must wait with the rest.
    fixture.edit("src/lib.rs", "    1\n}", "    2\n}");
    let detail = program.expect_stderr("the refusal detail", |line| line.contains("HOT011"));
    assert!(
        detail.contains("basic::advance") && detail.contains("`Counter`"),
        "{detail}"
    );
    assert_last_good(&program.tick_after_update("failed"));

    // Undo the type change, and edit a body in the same save.
    fixture.edit("src/lib.rs", swapped, in_order);
    fixture.edit("src/lib.rs", "    2\n}", "    6\n}");
    program.expect_stdout("the next good save", has("value", "6"));
}

#[test]
fn two_fields_swapped_in_a_type_without_the_derive_are_refused() {
    let (fixture, mut program) = Fixture::running("basic");
    reload_once(&fixture, &mut program);

    // `Span` has no `#[derive(Layout)]`, and swapping its two `u32`s keeps
    // its name, size and alignment: new code would read `end` where the
    // program keeps `start`.
    let (in_order, swapped) = (
        "    pub start: u32,\n    pub end: u32,\n",
        "    pub end: u32,\n    pub start: u32,\n",
    );
    fixture.edit("src/lib.rs", in_order, swapped);
    fixture.edit("src/lib.rs", "    1\n}", "    2\n}");
    let detail = program.expect_stderr("the refusal detail", |line| line.contains("HOT011"));
    assert!(
        detail.contains("basic::span_len") && detail.contains("`Span`") && detail.contains("`end`"),
        "{detail}"
    );
    let after = program.tick_after_update("failed");
    assert_last_good(&after);
    assert_eq!(field(&after, "span"), Some("5"), "{after}");

    // The revert reloads, with the body edit.
    fixture.edit("src/lib.rs", swapped, in_order);
    program.expect_stdout("the next good save", has("value", "2"));
}

#[test]
fn removed_hot_function_keeps_its_old_code() {
    let (fixture, mut program) = Fixture::running("basic");
    // Its last good code is a reloaded build's.
    fixture.edit("src/lib.rs", "\"label:{}\"", "\"label2:{}\"");
    program.expect_stdout("the first reload", |line| line.contains("label2:helper-v1"));
    program.expect_stderr("its report", |line| {
        line.starts_with("[hotreload] reloaded")
    });

    // The library no longer has `label`; the running binary still calls it.
    fixture.edit(
        "src/lib.rs",
        "#[hot]\npub fn label() -> String {\n    format!(\"label2:{}\", helper())\n}",
        "pub fn unused() -> &'static str {\n    helper()\n}",
    );
    fixture.edit("src/lib.rs", "    1\n}", "    5\n}");
    let line = program.expect_stderr("the reload report", report);
    assert!(line.contains("HOT012") && line.contains("label"), "{line}");
    let after = program.tick_after_update("reloaded");
    assert_eq!(field(&after, "value"), Some("5"), "{after}");
    assert!(
        after.contains("label2:helper-v1"),
        "the last good code of label still runs: {after}"
    );
}

#[test]
fn deleted_module_file_is_a_build_error_then_restoring_it_reloads() {
    let (fixture, mut program) = Fixture::running("basic");
    let original = fixture.read("src/words.rs");
    reload_once(&fixture, &mut program);

    fixture.remove("src/words.rs");
    let error = program.expect_stderr("the build error", report);
    assert!(error.contains("HOT001"), "{error}");
    program.expect_stderr("rustc's error", |line| {
        line.contains("file not found for module `words`")
    });
    assert_last_good(&program.tick_after_update("failed"));

    fixture.write("src/words.rs", &original.replace("alpha", "beta"));
    program.expect_stdout("the restored file", has("word", "beta"));
}

#[test]
fn deleted_dependencies_library_is_made_again() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", has("json", "[1,2]"));
    fixture.edit("src/words.rs", "&[1, 2]", "&[3]");
    program.expect_stdout("json=[3]", has("json", "[3]"));

    // Like `cargo clean` under a running program.
    let hot_dir = fixture_target_dir().join("hotreload/basic");
    std::fs::remove_dir_all(&hot_dir).expect("delete the hot build's files");
    fixture.edit("src/words.rs", "&[3]", "&[4]");
    program.expect_stdout("json=[4]", has("json", "[4]"));
    let made_again = std::fs::read_dir(&hot_dir)
        .expect("the hot build's directory is back")
        .flatten()
        .any(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("libhotreload_deps-")
        });
    assert!(made_again);
}

#[test]
fn a_build_that_no_longer_uses_the_runtime_has_no_manifest() {
    let (fixture, mut program) = Fixture::running("basic");
    reload_once(&fixture, &mut program);
    let original = fixture.read("src/lib.rs");

    // Every #[hot] and every other use of the runtime removed.
    let plain = "pub fn value() -> i64 {\n    2\n}\n";
    fixture.write("src/lib.rs", plain);
    let error = program.expect_stderr("the refusal", report);
    assert!(
        error.contains("HOT021") && error.contains("no hotreload manifest"),
        "{error}"
    );
    assert_last_good(&program.tick_after_update("failed"));

    fixture.write("src/lib.rs", &original.replace("    1\n}", "    4\n}"));
    program.expect_stdout("the restored library", has("value", "4"));
}

#[test]
fn a_build_with_another_profile_is_refused() {
    let (fixture, mut program) = Fixture::running("basic");
    reload_once(&fixture, &mut program);
    let manifest = fixture.read("Cargo.toml");

    // The running program was built with debug assertions; the new build
    // of the runtime inside the library would not be. A body edit rides
    // along: it must not go live either.
    let other_profile = "\n[profile.dev.package.hotreload-core]\ndebug-assertions = false\n";
    fixture.write("Cargo.toml", &format!("{manifest}{other_profile}"));
    fixture.edit("src/lib.rs", "    1\n}", "    7\n}");
    let error = program.expect_stderr("the refusal", report);
    assert!(error.contains("HOT030"), "{error}");
    assert!(
        error.contains("debug assertions on") && error.contains("debug assertions off"),
        "{error}"
    );
    assert_last_good(&program.tick_after_update("failed"));

    fixture.write("Cargo.toml", &manifest);
    fixture.edit("src/lib.rs", "    7\n}", "    8\n}");
    program.expect_stdout("the next good save", has("value", "8"));
}

#[test]
fn missing_cargo_is_an_error_from_start_and_the_program_runs_on() {
    let (_fixture, mut program) =
        Fixture::running_with("basic", &[("CARGO", "/nonexistent/cargo")]);
    let error = program.expect_stderr("the start error", |line| line.starts_with("no hot reload:"));
    assert!(
        error.contains("HOT002") && error.contains("/nonexistent/cargo"),
        "{error}"
    );
    let first = program.expect_stdout("a tick", has("value", "1"));
    program.expect_stdout("ticks going on", |line| {
        number(line, "ticks") > number(&first, "ticks") + 3
    });
}

#[test]
fn a_save_of_the_binary_alone_says_it_is_not_reloaded_and_builds_nothing() {
    let (fixture, mut program) = Fixture::running("basic");
    reload_once(&fixture, &mut program);
    fixture.edit("src/main.rs", "// Stops by itself:", "// Stops on its own:");
    let line = program.expect_stderr("HOT016", report);
    assert!(
        line.contains("HOT016 `src/main.rs` is the binary's: its code is not reloaded, only the library of `basic`"),
        "{line}"
    );
    assert_last_good(&program.tick_after_update("failed"));
    // The library's next edit reloads as ever.
    fixture.edit("src/lib.rs", "    1\n}", "    2\n}");
    program.expect_stdout("the library's edit", has("value", "2"));
}

#[test]
fn a_package_without_a_library_is_told_to_move_its_hot_functions_into_one() {
    let (fixture, mut program) = Fixture::running("binary_only");
    let ready = program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    let told = "HOT006 `binary_only` has no library: hot functions in a binary (`src/main.rs`) \
                are not reloaded, only a package's library is rebuilt. Move them into \
                `src/lib.rs`";
    assert!(ready.contains(told), "{ready}");
    // Each save says it again, without a build that could only fail.
    fixture.edit("src/main.rs", "\"hello\"", "\"hi\"");
    let line = program.expect_stderr("HOT006 after the save", |line| line.contains("HOT006"));
    assert!(line.contains(told), "{line}");
    program.expect_stdout("update=failed", has("code", "HOT006"));
    let tick = program.expect_stdout("a tick after it", |line| line.starts_with("tick="));
    assert!(tick.ends_with("greeting=hello"), "{tick}");
}

#[test]
fn a_custom_global_allocator_turns_reload_off_with_a_reason() {
    let (_fixture, mut program) = Fixture::running("allocator");
    let error = program.expect_stderr("the start error", |line| line.starts_with("no hot reload:"));
    assert!(
        error.contains("HOT031") && error.contains("#[global_allocator]"),
        "{error}"
    );
    program.expect_stdout("ticks going on", |line| number(line, "tick") > 3);
}
