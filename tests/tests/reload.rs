//! Real edits of a running program: copy a fixture, build it with cargo,
//! start it, change a `#[hot]` function on disk, and wait until the running
//! process shows the new behaviour.

use hotreload_tests::{Fixture, Program, Stream, field, has, is_report, is_tick, number};

#[test]
fn edited_free_function_runs_and_mut_state_survives() {
    let (fixture, mut program) = Fixture::running("basic");
    let before = program.expect_stdout("a tick", has("value", "1"));
    let (ticks_before, total_before) = (number(&before, "ticks"), number(&before, "total"));

    let ready = program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    assert!(
        ready.contains("watching basic") && ready.contains("hot functions"),
        "{ready}"
    );
    fixture.edit("src/lib.rs", "    1\n}", "    1000\n}");
    let after = program.expect_stdout("value=1000", has("value", "1000"));
    let report = program.expect_stderr("the reload report", |line| {
        line.starts_with("[hotreload] reloaded")
    });
    assert!(
        report.contains("value"),
        "report names the function: {report}"
    );

    // The counter kept counting from where it was: the state survived.
    let (ticks, total) = (number(&after, "ticks"), number(&after, "total"));
    assert!(
        ticks > ticks_before,
        "ticks went from {ticks_before} to {ticks}"
    );
    assert!(
        total >= total_before + 1000,
        "advance (hot) calls the new value (hot): {after}"
    );
    assert!(total < ticks * 1000, "earlier ticks added 1 each: {after}");
    // Other functions are unaffected.
    assert_eq!(field(&after, "damage"), Some("7"));
}

#[test]
fn edited_method_of_hot_impl_runs() {
    let (fixture, mut program) = Fixture::running("basic");
    let before = program.expect_stdout("a tick", has("damage", "7"));

    fixture.edit("src/lib.rs", "        7\n", "        42\n");
    let after = program.expect_stdout("damage=42", has("damage", "42"));
    // `heal(&mut self)` kept healing the same player.
    assert!(
        number(&after, "hp") > number(&before, "hp"),
        "{before} -> {after}"
    );

    fixture.edit(
        "src/lib.rs",
        "self.hp += amount;",
        "self.hp -= 1000 * amount;",
    );
    let hurt = program.expect_stdout("hp to fall", |line| is_tick(line) && number(line, "hp") < 0);
    assert_eq!(field(&hurt, "damage"), Some("42"));
}

#[test]
fn four_edits_in_a_row_each_show_up() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", has("value", "1"));
    let mut current = "    1\n}".to_string();
    for value in ["2", "3", "4", "5"] {
        let next = format!("    {value}\n}}");
        fixture.edit("src/lib.rs", &current, &next);
        program.expect_stdout(&format!("value={value}"), has("value", value));
        let report = program.expect_stderr("its report", |line| {
            line.starts_with("[hotreload] reloaded")
        });
        // The program was built from the sources the reloader read at
        // start (it says so: see the next test), so even the first build
        // compiles only `value`.
        assert!(report.contains("; quick build, "), "{report}");
        current = next;
    }
}

/// The program says which sources it was built from (the `#[hot]` macro
/// keeps their hash). A file changed after the build (saved while cargo
/// built, or before the program started) is not in it: the first edit
/// then compiles everything, and the earlier change shows up with it.
#[test]
fn a_change_the_program_was_not_built_with_makes_the_first_build_full() {
    let fixture = Fixture::new("basic");
    let exe = fixture.build("basic");
    fixture.edit("src/lib.rs", "    1\n}", "    5\n}");
    let mut program = Program::spawn(std::process::Command::new(exe));
    program.expect_stdout("the program to start", |line| line == "ready");
    program.expect_stdout("a tick of the program's value()", has("value", "1"));
    fixture.edit(
        "src/lib.rs",
        "state.total += value();",
        "state.total += value() + 1;",
    );
    let report = program.expect_stderr("the first report", is_report);
    assert!(
        report.contains("full build: the first build since start"),
        "{report}"
    );
    program.expect_stdout("value() as saved before start", has("value", "5"));
}

#[test]
fn save_by_rename_is_seen() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", has("value", "1"));
    fixture.edit_by_rename("src/lib.rs", "    1\n}", "    77\n}");
    program.expect_stdout("value=77", has("value", "77"));
    // And a second rename-save after that.
    fixture.edit_by_rename("src/lib.rs", "    77\n}", "    78\n}");
    program.expect_stdout("value=78", has("value", "78"));
}

/// A copy of a source kept beside the package's sources (`lib.v1.rs` in
/// the package directory) is compiled by no target: saving it starts no
/// build, and the next edit is a quick build, not one that ran cargo.
#[test]
fn a_file_no_target_compiles_starts_no_build() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    fixture.edit("src/lib.rs", "    1\n}", "    2\n}");
    program.expect_stderr("the first reload", |line| {
        line.starts_with("[hotreload] reloaded value (generation 1)")
    });
    fixture.write("lib.v1.rs", &fixture.read("src/lib.rs"));
    fixture.edit("src/lib.rs", "    2\n}", "    3\n}");
    let report = program.expect_stderr("the next report", is_report);
    assert!(
        report.starts_with("[hotreload] reloaded value") && !report.contains("full build"),
        "{report}"
    );
}

#[test]
fn burst_of_saves_ends_with_the_last_one() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", has("value", "1"));
    // Twenty saves as fast as the file system takes them; some land while
    // a build of an earlier one runs.
    let mut current = "    1\n}".to_string();
    for value in 101..=120 {
        let next = format!("    {value}\n}}");
        fixture.edit("src/lib.rs", &current, &next);
        current = next;
    }
    program.expect_stdout("value=120", has("value", "120"));
    // Once the last save is live, nothing older replaces it.
    let later = program.expect_stdout("20 more ticks", {
        let mut n = 0;
        move |line| {
            n += usize::from(is_tick(line));
            n == 20
        }
    });
    assert_eq!(field(&later, "value"), Some("120"), "{later}");
    let stdout = program.seen(Stream::Stdout);
    let first_final = stdout
        .iter()
        .position(|line| field(line, "value") == Some("120"))
        .expect("value=120 was seen");
    assert!(
        stdout[first_final..]
            .iter()
            .filter(|line| is_tick(line))
            .all(|line| field(line, "value") == Some("120")),
        "an older build replaced the newest"
    );
}

#[test]
fn hot_function_uses_the_new_code_of_a_plain_helper() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", |line| line.contains("label:helper-v1"));
    fixture.edit("src/lib.rs", "\"helper-v1\"", "\"helper-v2\"");
    program.expect_stdout("the new helper", |line| line.contains("label:helper-v2"));
    // The edit touched no #[hot] body; the report says so. Only the body
    // of a plain function changed: a quick build of the hot functions that
    // name it (`label`), every other one left to the program.
    let report = program.expect_stderr("the report", hotreload_tests::is_report);
    assert!(report.contains("no #[hot] function changed"), "{report}");
    assert!(report.contains("; quick build, "), "{report}");
    fixture.edit("src/lib.rs", "\"helper-v2\"", "\"helper-v3\"");
    program.expect_stdout("the newer helper", |line| line.contains("label:helper-v3"));
    let report = program.expect_stderr("the report", hotreload_tests::is_report);
    assert!(report.contains("; quick build, "), "{report}");
    // Named where no hot function's text shows it (a trait impl's body,
    // reached through `format!`): a full build, which says why.
    fixture.edit(
        "src/lib.rs",
        "pub struct Player {",
        "pub struct Shown;\nimpl std::fmt::Display for Shown {\n    \
         fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {\n        \
         f.write_str(helper())\n    }\n}\n\npub struct Player {",
    );
    program.expect_stderr("the report of the new impl", hotreload_tests::is_report);
    fixture.edit("src/lib.rs", "\"helper-v3\"", "\"helper-v4\"");
    program.expect_stdout("the newest helper", |line| line.contains("label:helper-v4"));
    let report = program.expect_stderr("the report", hotreload_tests::is_report);
    assert!(
        report.contains("full build: `src/lib.rs` changed outside hot function bodies"),
        "{report}"
    );
}

#[test]
fn a_constant_a_function_or_a_use_added_is_a_quick_build_of_the_hot_functions_that_name_it() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", |line| line.contains("label:helper-v1"));
    let quick = |program: &mut hotreload_tests::Program| {
        let report = program.expect_stderr("the report", hotreload_tests::is_report);
        assert!(report.contains("; quick build, "), "{report}");
    };
    // A constant added, and the plain helper's body naming it.
    fixture.edit(
        "src/lib.rs",
        "fn helper() -> &'static str {\n    \"helper-v1\"\n}",
        "const VERSION: &str = \"helper-c1\";\n\nfn helper() -> &'static str {\n    VERSION\n}",
    );
    program.expect_stdout("the constant", |line| line.contains("label:helper-c1"));
    quick(&mut program);
    // Its value: the hot function that reaches it through the helper sees it.
    fixture.edit("src/lib.rs", "\"helper-c1\"", "\"helper-c2\"");
    program.expect_stdout("the new value", |line| line.contains("label:helper-c2"));
    quick(&mut program);
    // A function added, called from the helper.
    fixture.edit(
        "src/lib.rs",
        "    VERSION\n}",
        "    newer()\n}\n\nfn newer() -> &'static str {\n    \"helper-n3\"\n}",
    );
    program.expect_stdout("the new function", |line| line.contains("label:helper-n3"));
    quick(&mut program);
    // A `use` added, then named by the new function.
    fixture.edit(
        "src/lib.rs",
        "use hotreload_runtime::hot;",
        "use hotreload_runtime::hot;\nuse std::convert::identity as keep;",
    );
    quick(&mut program);
    fixture.edit("src/lib.rs", "\"helper-n3\"", "keep(\"helper-u4\")");
    program.expect_stdout("the imported function", |line| {
        line.contains("label:helper-u4")
    });
    quick(&mut program);
}

#[test]
fn hot_functions_in_another_workspace_member_reload() {
    let fixture = Fixture::new("workspace");
    let mut program = fixture.start("game");
    let before = program.expect_stdout("a tick", has("rule", "rule-one"));
    fixture.edit("game_logic/src/lib.rs", "\"rule-one\"", "\"rule-two\"");
    let after = program.expect_stdout("rule-two", has("rule", "rule-two"));
    assert!(number(&after, "score") > number(&before, "score"));
    fixture.edit(
        "game_logic/src/lib.rs",
        "world.score += 1;",
        "world.score += 1000;",
    );
    program.expect_stdout("score to jump", |line| number(line, "score") > 1000);
}

/// The shared library of dependencies (see `hotreload-runtime/src/dylib.rs`).
fn dependency_libraries(program: &Program) -> usize {
    program
        .mapped_libraries()
        .iter()
        .filter(|name| name.starts_with("libhotreload_deps-"))
        .count()
}

#[test]
fn crates_io_dependencies_are_linked_once_for_all_reloads() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", has("json", "[1,2]"));

    fixture.edit("src/words.rs", "&[1, 2]", "&[3, 4, 5]");
    program.expect_stdout("json=[3,4,5]", has("json", "[3,4,5]"));
    fixture.edit("src/words.rs", "&[3, 4, 5]", "&[6]");
    program.expect_stdout("json=[6]", has("json", "[6]"));
    // Both reloads call serde_json in one shared library, not in a copy
    // linked into each.
    assert_eq!(
        dependency_libraries(&program),
        1,
        "{:?}",
        program.mapped_libraries()
    );
}

#[test]
fn without_shared_dependencies_reloads_link_them_in() {
    let (fixture, mut program) = Fixture::running_with("basic", &[("HOTRELOAD_SHARED_DEPS", "0")]);
    program.expect_stdout("a tick", has("json", "[1,2]"));

    fixture.edit("src/words.rs", "&[1, 2]", "&[7]");
    program.expect_stdout("json=[7]", has("json", "[7]"));
    assert_eq!(dependency_libraries(&program), 0);
}

#[test]
fn a_restarted_program_reloads_from_its_first_edit() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", has("word", "alpha"));
    fixture.edit("src/words.rs", "\"alpha\"", "\"beta\"");
    program.expect_stdout("word=beta", has("word", "beta"));
    drop(program);

    // The reloads left the hot library up to date, so this run's first
    // cargo build runs no rustc: the edit is built with the command the
    // first run saved.
    let mut program = fixture.start("basic");
    program.expect_stdout("a tick", has("word", "beta"));
    fixture.edit("src/words.rs", "\"beta\"", "\"gamma\"");
    program.expect_stdout("word=gamma", has("word", "gamma"));
    fixture.edit("src/words.rs", "&[1, 2]", "&[8]");
    program.expect_stdout("json=[8]", has("json", "[8]"));
}

#[test]
fn library_code_that_uses_the_reloader_api_reloads() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", has("value", "1"));
    fixture.edit("src/lib.rs", "    1\n}", "    2\n}");
    program.expect_stdout("value=2", has("value", "2"));

    // Hot builds compile `#[hot]` code against the core crate alone; this
    // library now needs the rest of the runtime.
    let mut lib = fixture
        .read("src/lib.rs")
        .replacen("    2\n}", "    3\n}", 1);
    lib.push_str(
        "\npub fn reloader_is_idle() -> bool {\n    \
         matches!(hotreload_runtime::Reloader::off().update(), hotreload_runtime::Update::Idle)\n}\n",
    );
    fixture.write("src/lib.rs", &lib);
    program.expect_stdout("value=3", has("value", "3"));
}

#[test]
fn hot_functions_keep_their_modules_scope_across_reloads() {
    let (fixture, mut program) = Fixture::running("basic");
    let scopes =
        |line: &str, prefix: &str| field(line, "scopes").is_some_and(|s| s.starts_with(prefix));
    program.expect_stdout("a tick", |line| scopes(line, "10/north/"));

    // Imports, a prelude-shadowing alias, a local macro, glob-imported
    // variants and private items, all named from the reloaded bodies.
    fixture.edit("src/scopes.rs", "North => \"north\"", "North => \"NORTH\"");
    fixture.edit(
        "src/scopes.rs",
        "Ok(double!(private_helper(x)))",
        "Ok(double!(private_helper(x)) + 1)",
    );
    fixture.edit(
        "src/scopes.rs",
        "super::private_helper(1)",
        "super::private_helper(2)",
    );
    let after = program.expect_stdout("the edited functions", |line| {
        scopes(line, "11/NORTH/") && field(line, "scopes").is_some_and(|s| s.ends_with("/5"))
    });
    // The tally kept its entries: it counts on from where it was.
    let count: i64 = field(&after, "scopes")
        .unwrap()
        .split('/')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!(count > 11, "{after}");
}

#[test]
fn trait_impl_lifetime_impl_and_async_fn_reload() {
    let (fixture, mut program) = Fixture::running("basic");
    let before = program.expect_stdout("a tick", has("shown", "player-v1"));
    assert_eq!(field(&before, "greeting"), Some("hello-you"), "{before}");
    assert_eq!(field(&before, "later"), Some("2"), "{before}");

    fixture.edit("src/lib.rs", "\"player-v1\"", "\"player-v2\"");
    fixture.edit("src/lib.rs", "\"hello-{}\"", "\"hi-{}\"");
    fixture.edit("src/lib.rs", "    x + 1\n", "    x + 100\n");
    let after = program.expect_stdout("all three edits", |line| {
        field(line, "shown") == Some("player-v2")
            && field(line, "greeting") == Some("hi-you")
            && field(line, "later") == Some("101")
    });
    assert!(
        number(&after, "ticks") > number(&before, "ticks"),
        "{after}"
    );
}

#[test]
fn reloaded_code_agrees_with_the_program_on_type_ids() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stdout("a tick", has("typeid", "same"));
    fixture.edit(
        "src/lib.rs",
        "    std::any::TypeId::of::<Counter>()\n",
        "    let id = std::any::TypeId::of::<Counter>();\n    id\n",
    );
    let report = program.expect_stderr("the reload", |line| {
        line.starts_with("[hotreload] reloaded")
    });
    assert!(report.contains("counter_type"), "{report}");
    let after = program.tick_after_update("reloaded");
    assert_eq!(field(&after, "typeid"), Some("same"), "{after}");
}

#[test]
fn nothing_is_left_in_the_temporary_directory_even_after_kill() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let tmp_path = tmp.path().to_str().expect("UTF-8").to_string();
    let (fixture, mut program) = Fixture::running_with("basic", &[("TMPDIR", &tmp_path)]);
    program.expect_stdout("a tick", has("value", "1"));
    fixture.edit("src/lib.rs", "    1\n}", "    2\n}");
    program.expect_stdout("value=2", has("value", "2"));
    fixture.edit("src/lib.rs", "    2\n}", "    3\n}");
    program.expect_stdout("value=3", has("value", "3"));
    let left = |what: &str| {
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("read the temporary directory")
            .flatten()
            .map(|entry| entry.file_name())
            .collect();
        assert!(names.is_empty(), "{what}: {names:?}");
    };
    left("while running, with two builds loaded");
    // Killed with SIGKILL (the Program's drop): no chance to clean up.
    drop(program);
    left("after kill -9");
}

#[test]
fn a_hook_runs_before_each_reload_and_learns_what_changed() {
    let (fixture, mut program) = Fixture::running("basic");
    // A body edited and a type added that no hot signature reaches, in one
    // save.
    fixture.edit(
        "src/lib.rs",
        "    1\n}",
        "    2\n}\n\npub struct Fresh {\n    pub a: u8,\n}",
    );
    let hook = program.expect_stdout("the hook", |line| line.starts_with("before_reload"));
    assert_eq!(field(&hook, "changed"), Some("basic::value"), "{hook}");
    assert_eq!(field(&hook, "types"), Some("Fresh"), "{hook}");
    // It ran before the swap: a hot call in it ran the old code.
    assert_eq!(field(&hook, "value"), Some("1"), "{hook}");
    let after = program.tick_after_update("reloaded");
    assert_eq!(field(&after, "value"), Some("2"), "{after}");
    let report = program.expect_stderr("the report", |line| {
        line.starts_with("[hotreload] reloaded")
    });
    assert!(report.contains("types changed: Fresh"), "{report}");
}

#[test]
fn three_processes_of_one_program_build_each_of_eight_saves_once() {
    let (fixture, first) = Fixture::running("basic");
    let mut programs = [first, fixture.start("basic"), fixture.start("basic")];
    let reloaded = |line: &str| line.starts_with("[hotreload] reloaded");
    for value in 2..=9 {
        fixture.edit(
            "src/lib.rs",
            &format!("    {}\n}}", value - 1),
            &format!("    {value}\n}}"),
        );
        let value = value.to_string();
        let mut built_here = 0;
        for (index, program) in programs.iter_mut().enumerate() {
            program.expect_stdout(&format!("process {index}'s new code"), has("value", &value));
            let report = program.expect_stderr("its report", reloaded);
            built_here += usize::from(!report.contains("built by process"));
        }
        assert_eq!(
            built_here, 1,
            "save {value}: one process built, the others took it"
        );
    }
}

#[test]
fn a_program_without_a_safe_point_reloads_in_the_background() {
    let fixture = Fixture::new("basic");
    let mut server = fixture.start("server");
    server.expect_stdout("a request", has("value", "1"));
    fixture.edit("src/lib.rs", "    1\n}", "    2\n}");
    server.expect_stdout("the background update", has("update", "reloaded"));
    // Every worker thread serves the new code from then on. (Its first
    // line after the update may have called `value()` just before it.)
    let tail_from = server.seen(hotreload_tests::Stream::Stdout).len();
    server.expect_stdout("two more rounds of requests", {
        let mut seen = 0;
        move |_| {
            seen += 1;
            seen == 6
        }
    });
    let stdout = server.seen(hotreload_tests::Stream::Stdout);
    for worker in ["0", "1", "2"] {
        let lines: Vec<&&str> = stdout[tail_from..]
            .iter()
            .filter(|line| field(line, "worker") == Some(worker))
            .collect();
        let last = lines
            .last()
            .unwrap_or_else(|| panic!("worker {worker}: {stdout:?}"));
        assert_eq!(field(last, "value"), Some("2"), "worker {worker}: {last}");
    }
}

#[test]
fn log_records_and_tracing_events_of_reloaded_code_reach_the_program() {
    let (fixture, mut program) = Fixture::running("logging");
    program.expect_stdout("a log record", has("text", "work_0_v1"));
    program.expect_stdout("a tracing event", |line| {
        line.starts_with("tracing") && field(line, "span") == Some("frame")
    });
    fixture.edit("src/lib.rs", "v1\");\n    tracing", "v2\");\n    tracing");
    fixture.edit("src/lib.rs", "\"event v1\"", "\"event v2\"");
    let log = program.expect_stdout("the new code's log record", |line| {
        line.starts_with("log") && field(line, "text").is_some_and(|t| t.ends_with("_v2"))
    });
    assert_eq!(field(&log, "target"), Some("logging"), "{log}");
    let event = program.expect_stdout("the new code's tracing event", |line| {
        line.starts_with("tracing") && field(line, "text") == Some("event_v2")
    });
    // The span the program entered is the event's, across the boundary.
    assert_eq!(field(&event, "span"), Some("frame"), "{event}");
    // The program asked for old builds to be unloaded; these register
    // callsites with its `tracing`, which keeps a list of them.
    let report = program.expect_stderr("the report", |line| {
        line.starts_with("[hotreload] reloaded")
    });
    assert!(
        report.contains("this build stays loaded: it registers `tracing` callsites"),
        "{report}"
    );
}

#[test]
fn a_hot_static_keeps_its_value_across_reloads_and_a_plain_one_does_not() {
    let (fixture, mut program) = Fixture::running("basic");
    let before = program.expect_stdout("some calls", |line| {
        is_tick(line) && number(line, "hits") > 3
    });
    assert_eq!(
        number(&before, "hits"),
        number(&before, "plain_hits"),
        "{before}"
    );
    fixture.edit(
        "src/lib.rs",
        "PLAIN_HITS.fetch_add(1, Relaxed) + 1)",
        "PLAIN_HITS.fetch_add(1, Relaxed) + 1 + 0)",
    );
    let after = program.tick_after_update("reloaded");
    // The program's HITS counted on; the new build's PLAIN_HITS began anew.
    assert!(
        number(&after, "hits") > number(&before, "hits"),
        "{before} / {after}"
    );
    assert!(
        number(&after, "plain_hits") < number(&before, "plain_hits"),
        "{before} / {after}"
    );
}

/// A hot function added while the program runs is called by the new
/// build's code, and later edits of it, and of its caller with it left
/// out, are quick builds that reach it.
#[test]
fn a_hot_function_added_while_running_takes_quick_builds() {
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    fixture.edit(
        "src/lib.rs",
        "#[hot]\npub fn value() -> i64 {\n    1\n}",
        "#[hot]\npub fn value() -> i64 {\n    1 + bonus()\n}\n\n#[hot]\npub fn bonus() -> i64 {\n    10\n}",
    );
    program.expect_stdout("value=11", has("value", "11"));

    // The new function's body: a quick build.
    fixture.edit("src/lib.rs", "    10\n}", "    20\n}");
    program.skip_to_now();
    program.expect_stdout("value=21", has("value", "21"));
    let report = program.expect_stderr("its reload", |line| {
        line.starts_with("[hotreload] reloaded bonus")
    });
    assert!(report.contains("; quick build, "), "{report}");

    // Its caller, the new function left out (thin): it still runs 20.
    fixture.edit("src/lib.rs", "    1 + bonus()", "    2 + bonus()");
    program.skip_to_now();
    program.expect_stdout("value=22", has("value", "22"));
    let report = program.expect_stderr("its reload", |line| {
        line.starts_with("[hotreload] reloaded value")
    });
    assert!(report.contains("; quick build, "), "{report}");
}
