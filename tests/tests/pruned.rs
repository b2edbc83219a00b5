//! Quick builds that compile a pruned copy of the sources (see the
//! runtime's `prune.rs`): what the edited code reaches is there and works,
//! what it does not reach is left out, and a pruned build that the
//! pruning got wrong is built again in full, with pruning off from then
//! on.

use hotreload_tests::{Fixture, Program, field, fixture_target_dir, has, is_report};

/// The fixture running, after its first build (which compiles everything:
/// the next body edit is a quick build).
fn running_after_a_full_build() -> (Fixture, Program) {
    let (fixture, mut program) = Fixture::running("pruned");
    program.expect_stdout("a tick", has("greeting", "hello"));
    fixture.edit("src/lib.rs", "    GREETING\n", "    \"first\"\n");
    program.expect_stdout("greeting=first", has("greeting", "first"));
    program.expect_stderr("its report", is_report);
    (fixture, program)
}

/// The pruned copy of `file` the last quick build compiled (each copy of
/// the fixture has its own: the newest).
fn compiled(file: &str) -> String {
    let hot = fixture_target_dir().join("hotreload/pruned");
    let copy = std::fs::read_dir(&hot)
        .expect("the package's hot directory")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("quick-"))
        .max_by_key(|entry| entry.metadata().and_then(|meta| meta.modified()).ok())
        .map(|entry| entry.path())
        .expect("a pruned copy of the sources");
    std::fs::read_to_string(copy.join(file)).expect("the pruned file")
}

#[test]
fn new_code_in_a_pruned_build_uses_what_it_names_and_nothing_else_is_compiled() {
    let (fixture, mut program) = running_after_a_full_build();

    // A generic helper, a method of an inherent impl in another file, a
    // method of a trait only a `use` names, a constant and a static.
    fixture.edit(
        "src/lib.rs",
        "format!(\"total={}\", total(world))",
        "let sides: Vec<u64> = world.squares.iter().map(Square::side).collect();\n    \
         format!(\"sum={}/{}/{}/{}\", total(world), largest(&sides).unwrap_or(0), SCALE, GREETING)",
    );
    let line = program.expect_stdout("the new report", |line| line.contains("report=sum="));
    // Sides 1, 2, 3: areas 10 + 40 + 90.
    assert_eq!(field(&line, "report"), Some("sum=140/3/10/hello"), "{line}");
    assert_eq!(field(&line, "greeting"), Some("first"), "{line}");
    let report = program.expect_stderr("its report", is_report);
    assert!(report.contains("quick build,"), "{report}");

    let lib = compiled("src/lib.rs");
    for kept in [
        "fn report",
        "fn total",
        "fn largest",
        "const SCALE",
        "static GREETING",
    ] {
        assert!(lib.contains(kept), "`{kept}` was left out:\n{lib}");
    }
    for left_out in [
        "fn two()",
        "struct Unused",
        "fn hidden_helper",
        "fn included",
    ] {
        assert!(!lib.contains(left_out), "`{left_out}` was compiled:\n{lib}");
    }
    // Every line where it was: the copy has the real file's lines.
    assert_eq!(
        lib.lines().count(),
        fixture.read("src/lib.rs").lines().count()
    );
    let shapes = compiled("src/shapes.rs");
    for kept in ["impl Area for Square", "fn side", "trait Area"] {
        assert!(shapes.contains(kept), "`{kept}` was left out:\n{shapes}");
    }
}

#[test]
fn a_name_the_pruning_cannot_see_costs_one_full_build_and_turns_it_off() {
    let (fixture, mut program) = running_after_a_full_build();
    program.expect_stdout("a tick", has("included", "10"));

    // `hidden_helper` is named only in another crate's macro: the pruned
    // build does not compile; the full one does, and says what changed.
    fixture.edit(
        "src/lib.rs",
        "    calls::twice_hidden!()\n",
        "    calls::twice_hidden!() + 1\n",
    );
    program.expect_stdout("included=11", has("included", "11"));
    let report = program.expect_stderr("its report", is_report);
    assert!(
        report.contains("pruned quick build did not compile") && !report.contains("quick build,"),
        "{report}"
    );
    // Quick builds go on, unpruned: the same edit again is a quick one.
    fixture.edit(
        "src/lib.rs",
        "    calls::twice_hidden!() + 1\n",
        "    calls::twice_hidden!() + 2\n",
    );
    program.expect_stdout("included=12", has("included", "12"));
    let report = program.expect_stderr("its report", is_report);
    assert!(report.contains("quick build,"), "{report}");
}
