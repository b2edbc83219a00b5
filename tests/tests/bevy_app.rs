//! A `bevy_app` App (ScheduleRunnerPlugin, TimePlugin, bevy's
//! multi-threaded executor) whose hot system is edited to panic: the app
//! keeps running frames, HOT040 names the system and says the call
//! returned, the world keeps its entities, and the fix reloads.

use hotreload_tests::{Fixture, has, number};

fn is_frame(line: &str) -> bool {
    line.starts_with("frame=")
}

#[test]
fn a_panicking_hot_system_does_not_end_the_app() {
    let (fixture, mut program) = Fixture::running("bevy_app");
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    program.expect_stdout("a frame", is_frame);

    fixture.edit(
        "src/lib.rs",
        "    let speed = 1.0;\n",
        "    let speed = 1.0;\n    if motion.steps > 0 {\n        panic!(\"a bad edit\");\n    }\n",
    );
    let report = program.expect_stderr("HOT040", |line| line.contains("HOT040"));
    assert!(
        report.contains("`bevy_app_fixture::step` panicked: a bad edit")
            && report.contains("the call returned at the panic"),
        "{report}"
    );
    // Frames go on after the panic, the old code steps again, and the
    // entities are all there.
    let after = program.line_after_update("panicked", is_frame);
    let later = program.expect_stdout("a later frame", |line| {
        is_frame(line) && number(line, "steps") > number(&after, "steps")
    });
    assert!(
        has("entities", "3")(&later) && has("speed", "1")(&later),
        "{later}"
    );

    // The fix: the next frame steps with the new code.
    let text = fixture
        .read("src/lib.rs")
        .replace(
            "        panic!(\"a bad edit\");",
            "        motion.steps += 0;",
        )
        .replace("let speed = 1.0;", "let speed = 2.0;");
    fixture.write("src/lib.rs", &text);
    let fixed = program.line_after_update("reloaded", is_frame);
    assert!(
        has("speed", "2")(&fixed) && has("entities", "3")(&fixed),
        "{fixed}"
    );
}
