//! A `bevy_app` App with `HotReloadPlugin` (hotreload-bevy) and hot
//! systems added by a hot registration function, edited the ways Bevy
//! users edit: a body, a startup system that runs again, a parameter added
//! and removed, a new system, a removed system, a changed component
//! (refused), panics in systems made anew. Through all of it the world
//! keeps its entities and the other systems their `Local`s.

use hotreload_tests::{Fixture, Program, has, number};

fn is_frame(line: &str) -> bool {
    line.starts_with("frame=")
}

/// The first frame printed after the next reload's message, which says
/// `what` (e.g. `remade=step`).
fn frame_after_reload(program: &mut Program, what: &str) -> (String, String) {
    let (key, value) = what.split_once('=').expect("key=value");
    let reload = program.expect_stdout(&format!("a reload with {what}"), |line| {
        line.starts_with("update=reloaded") && has(key, value)(line)
    });
    let frame = program.expect_stdout("a frame after it", is_frame);
    (reload, frame)
}

/// The first frame whose step count is past `frame`'s by more than two:
/// one that the systems made after `frame` ran in.
fn later_frame(program: &mut Program, frame: &str) -> String {
    program.expect_stdout("a later frame", |line| {
        is_frame(line) && number(line, "steps") > number(frame, "steps") + 2
    })
}

#[test]
fn systems_take_new_bodies_parameters_and_registrations_with_the_world_kept() {
    let (fixture, mut program) = Fixture::running("bevy_plugin");
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    let first = program.expect_stdout("a frame", is_frame);
    assert!(has("entities", "3")(&first), "{first}");

    let counted = bodies(&fixture, &mut program);
    parameter_added(&fixture, &mut program, counted);
    systems_added_and_removed(&fixture, &mut program);
    component_refused(&fixture, &mut program);
    parameter_removed(&fixture, &mut program);
    panics(&fixture, &mut program);
}

/// A body, and a startup system marked to run again after an edit of its
/// code; what `count` has counted by then.
fn bodies(fixture: &Fixture, program: &mut Program) -> i64 {
    fixture.edit("src/lib.rs", "let speed = 1.0;", "let speed = 2.0;");
    let (_, frame) = frame_after_reload(program, "remade=-");
    assert!(
        has("speed", "2")(&frame) && has("level_runs", "1")(&frame),
        "{frame}"
    );

    fixture.edit("src/lib.rs", "stats.level = 1;", "stats.level = 2;");
    let (_, frame) = frame_after_reload(program, "remade=-");
    assert!(
        has("level", "2")(&frame) && has("level_runs", "2")(&frame),
        "{frame}"
    );
    number(&frame, "counted")
}

/// A new parameter: `step` is made anew with it; `count` keeps its Local
/// (its count goes on past `counted`), the entities stay.
fn parameter_added(fixture: &Fixture, program: &mut Program, counted: i64) {
    fixture.edit(
        "src/lib.rs",
        "mut stats: ResMut<Stats>) {\n    let speed",
        "mut stats: ResMut<Stats>, time: Res<Time>) {\n    stats.extra = 7 + time.delta_secs() as u64 * 0;\n    let speed",
    );
    let (_, frame) = frame_after_reload(program, "remade=step");
    assert!(
        has("extra", "7")(&frame)
            && has("entities", "3")(&frame)
            && number(&frame, "counted") > counted,
        "{frame}"
    );
}

/// A new system runs from the next frame; a removed one stops (`count`
/// no longer counts).
fn systems_added_and_removed(fixture: &Fixture, program: &mut Program) {
    fixture.edit("src/lib.rs", "(step, count)", "(step, count, spawn_one)");
    frame_after_reload(program, "added=spawn_one");
    let four = program.expect_stdout("the new system's entity", |line| {
        is_frame(line) && has("entities", "4")(line)
    });

    fixture.edit(
        "src/lib.rs",
        "(step, count, spawn_one)",
        "(step, spawn_one)",
    );
    let (_, frame) = frame_after_reload(program, "removed=count");
    let later = later_frame(program, &frame);
    assert_eq!(
        number(&later, "counted"),
        number(&frame, "counted"),
        "{frame}\n{later}"
    );
    assert!(number(&later, "counted") >= number(&four, "counted"));
}

/// A component whose definition changed is refused, naming it, also when
/// no hot system's parameters name it; the systems go on with the code
/// before, and undoing it reloads.
fn component_refused(fixture: &Fixture, program: &mut Program) {
    fixture.edit(
        "src/lib.rs",
        "pub struct Tag(pub u32);",
        "pub struct Tag(pub u64);",
    );
    let refusal = program.expect_stderr("HOT011", |line| line.contains("HOT011"));
    assert!(refusal.contains("HOT011 `Tag`"), "{refusal}");
    fixture.edit(
        "src/lib.rs",
        "pub struct Tag(pub u64);",
        "pub struct Tag(pub u32);",
    );
    frame_after_reload(program, "remade=-");
}

/// A parameter removed: made anew again; what it did stays in the world.
fn parameter_removed(fixture: &Fixture, program: &mut Program) {
    fixture.edit(
        "src/lib.rs",
        "mut stats: ResMut<Stats>, time: Res<Time>) {\n    stats.extra = 7 + time.delta_secs() as u64 * 0;",
        "mut stats: ResMut<Stats>) {",
    );
    let (_, frame) = frame_after_reload(program, "remade=step");
    let later = later_frame(program, &frame);
    assert!(
        has("extra", "7")(&later) && has("entities", "4")(&later),
        "{later}"
    );
}

/// New parameters whose code panics: the system it replaced comes back
/// (HOT040), and the app goes on. Then a new hot function, a system
/// without parameters, panicking: its call is made again (nothing to pass
/// twice) with no code before it to run, panics again, and still the app
/// goes on, without it.
fn panics(fixture: &Fixture, program: &mut Program) {
    fixture.edit(
        "src/lib.rs",
        "mut stats: ResMut<Stats>) {\n    let speed",
        "mut stats: ResMut<Stats>, mut runs: Local<u32>) {\n    *runs += 1;\n    if stats.steps > 0 {\n        panic!(\"a bad edit\");\n    }\n    let speed",
    );
    let report = program.expect_stderr("HOT040", |line| line.contains("HOT040"));
    assert!(
        report.contains("`bevy_plugin_fixture::step` panicked"),
        "{report}"
    );
    program.expect_stderr("the system put back", |line| {
        line.contains("`bevy_plugin_fixture::step`: the system made from its new code is out")
    });
    program.skip_to_now();
    let after = program.expect_stdout("a frame after the panic", is_frame);
    let later = later_frame(program, &after);
    assert!(
        has("entities", "4")(&later) && has("extra", "7")(&later),
        "{later}"
    );

    let text = fixture
        .read("src/lib.rs")
        .replace("(step, spawn_one)", "(step, spawn_one, idle)")
        + "\n#[hot]\npub fn idle() {\n    panic!(\"idle panics\");\n}\n";
    fixture.write("src/lib.rs", &text);
    program.expect_stderr("HOT040 of idle", |line| {
        line.contains("HOT040 `bevy_plugin_fixture::idle` panicked: idle panics")
    });
    program.skip_to_now();
    let after = program.expect_stdout("a frame after the panic", is_frame);
    later_frame(program, &after);
}

/// The README's three edits of `examples/bevy`, as a user makes them.
#[test]
fn the_readme_edits_of_the_bevy_example_reload() {
    let fixture = Fixture::example("bevy");
    let mut command = std::process::Command::new(fixture.build("bevy"));
    command.env("BEVY_EXAMPLE_SECONDS", "300");
    let mut program = Program::spawn(command);
    let balls = |line: &str| line.split_once(": ").map(|(_, rest)| rest.to_string());
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });

    // 1. A body.
    fixture.edit(
        "src/lib.rs",
        "ball.speed = -ball.speed;",
        "ball.speed = -ball.speed * 1.1;",
    );
    program.expect_stdout("the reload", |line| {
        line.starts_with("reloaded [\"bevy_example::move_balls\"]")
    });
    // 2. A new parameter.
    fixture.edit(
        "src/lib.rs",
        "pub fn move_balls(mut balls: Query<&mut Ball>) {",
        "pub fn move_balls(mut balls: Query<&mut Ball>, time: Res<bevy_time::Time>) {",
    );
    fixture.edit(
        "src/lib.rs",
        "ball.x += ball.speed;",
        "ball.x += ball.speed * time.delta_secs() * 50.0;",
    );
    program.expect_stderr("the system made anew", |line| {
        line.contains("new parameters: bevy_example::move_balls")
    });
    program.skip_to_now();
    let two = program.expect_stdout("a line after it", |line| line.contains(" balls at "));
    assert!(
        balls(&two).is_some_and(|b| b.starts_with("2 balls")),
        "{two}"
    );
    // 3. A new system: balls are born.
    fixture.edit(
        "src/lib.rs",
        "hot.add_systems(Update, move_balls);",
        "hot.add_systems(Update, (move_balls, spawn_balls));",
    );
    program.expect_stderr("the system added", |line| {
        line.contains("added: bevy_example::spawn_balls")
    });
    program.expect_stdout("a third ball", |line| line.contains(": 3 balls at "));
}
