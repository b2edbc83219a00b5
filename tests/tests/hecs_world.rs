//! A game whose world is a `hecs::World`, which keeps components by
//! `TypeId`, so no hot signature shows their types. A changed type's
//! values in the world keep the old definition: a reload says what new
//! code will make of them (not found under a new `TypeId`, or read with
//! the new layout under the same one), and a type the program names with
//! `Reloader::hold_types` cannot change (HOT011): the old code runs on.
//! An edit of a function that only the program's own code calls says that
//! the program keeps running the code it was built with.

use hotreload_tests::{Fixture, Program, field, has, is_frame, is_reload, per_frame};

/// How far the first entity moves per frame.
fn speed(program: &mut Program) -> i64 {
    per_frame(program, "x")
}

#[test]
fn a_reload_says_what_becomes_of_values_kept_by_type_and_held_types_cannot_change() {
    let (fixture, mut program) = Fixture::running("hecs_world");
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    let line = program.expect_stdout("a frame", is_frame);
    assert_eq!(field(&line, "moving"), Some("3"), "{line}");
    assert_eq!(speed(&mut program), 1);

    // Only a field's type: the same `TypeId`, another layout.
    let lib = fixture
        .read("src/lib.rs")
        .replace("pub moving: u32,", "pub moving: u64,")
        .replace("    tally.moving\n", "    tally.moving as u32 + 10\n");
    fixture.write("src/lib.rs", &lib);
    let line = program.line_after_update("reloaded", is_frame);
    assert_eq!(field(&line, "moving"), Some("13"), "{line}");
    let reload = program.expect_stderr("the reload", is_reload);
    assert!(
        reload.contains(
            "types changed: Tally (`Tally` kept its `TypeId` with fields of other types: a value \
             the program already holds by type (in an ECS world, a `dyn Any`) is read with the new \
             layout; `Reloader::hold_types` refuses changes to the types it holds)"
        ),
        "{reload}"
    );

    // `Pos` is held: refused, with the step edited in the same save.
    let lib = fixture
        .read("src/lib.rs")
        .replace("    pub x: f32,", "    pub x: f32,\n    pub y: f32,")
        .replace("Pos { x: 0.0 }", "Pos { x: 0.0, y: 0.0 }")
        .replace("pos.x += vel.dx;", "pos.x += vel.dx * 10.0;");
    fixture.write("src/lib.rs", &lib);
    let refused = program.expect_stderr("HOT011", |line| line.contains("HOT011"));
    assert!(refused.contains("`Pos`"), "{refused}");
    program.expect_stdout("update=failed", has("update", "failed"));
    assert_eq!(speed(&mut program), 1, "the old step runs on");

    // A new field in `Vel`: a new `TypeId`, under which new code finds
    // none of the world's velocities, as the reload says.
    let lib = fixture
        .read("src/lib.rs")
        .replace("    pub x: f32,\n    pub y: f32,", "    pub x: f32,")
        .replace("Pos { x: 0.0, y: 0.0 }", "Pos { x: 0.0 }")
        .replace("    pub dx: f32,", "    pub dx: f32,\n    pub dy: f32,")
        .replace("Vel { dx: 1.0 }", "Vel { dx: 1.0, dy: 0.0 }");
    fixture.write("src/lib.rs", &lib);
    let line = program.line_after_update("reloaded", is_frame);
    assert_eq!(field(&line, "moving"), Some("10"), "{line}");
    assert_eq!(speed(&mut program), 0, "new code found a `Vel`");
    let reload = program.expect_stderr("the reload of Vel", |line| {
        is_reload(line) && line.contains("types changed:")
    });
    assert!(
        reload.contains(
            "types changed: Vel (a value the program already holds by type (in an ECS world, a \
             `dyn Any`) has the old `TypeId`: new code does not find it"
        ),
        "{reload}"
    );
}

#[test]
fn an_edit_of_a_method_no_hot_function_calls_says_the_program_keeps_its_code() {
    let (fixture, mut program) = Fixture::running("hecs_world");
    let line = program.expect_stdout("a frame", is_frame);
    assert_eq!(field(&line, "scaled"), Some("20"), "{line}");

    // `scaled` sits in a `#[hot]` impl but takes `impl Fn`, so it is not
    // hot, and only `main` calls it.
    fixture.edit("src/lib.rs", "f(self.base())", "f(self.base() + 1)");
    let line = program.line_after_update("reloaded", is_frame);
    assert_eq!(field(&line, "scaled"), Some("20"), "{line}");
    let rebuilt = program.expect_stderr("the rebuild", |line| {
        line.starts_with("[hotreload] rebuilt")
    });
    assert!(
        rebuilt.contains(
            "no #[hot] function calls `Rules::scaled`: the program's own calls keep the code it \
             was built with (call it from a #[hot] function, or make it #[hot])"
        ),
        "{rebuilt}"
    );
}
