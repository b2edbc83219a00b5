//! The bevy_ecs example (`examples/ecs`): after its systems are edited,
//! creatures born in reloaded code are the program's own (its own
//! `world.query::<&Age>()` counts them), they age and they retire, and the
//! population stays where the rules put it.

use hotreload_tests::{Fixture, number};

#[test]
fn creatures_born_in_reloaded_systems_are_the_programs_and_retire() {
    let fixture = Fixture::example("ecs");
    let exe = fixture.build("ecs");
    let mut command = std::process::Command::new(exe);
    command.env("ECS_TICKS", "20000");
    let mut program = hotreload_tests::Program::spawn(command);
    program.expect_stdout("the start", |line| line == "ready");
    let alive = |n: i64| move |line: &str| line.starts_with("tick=") && number(line, "alive") == n;
    // One born a tick, retired at age 5: four alive at the end of a tick
    // (the one born is spawned as the tick's commands are applied).
    program.expect_stdout("four alive", alive(4));

    fixture.edit("src/lib.rs", "for _ in 0..1 {", "for _ in 0..3 {");
    program.expect_stderr("the reload", |line| {
        line.starts_with("[hotreload] reloaded")
    });
    let steady = program.expect_stdout("twelve alive", alive(12));

    // Retire at 3: six alive, and the ones born before go too.
    fixture.edit("src/lib.rs", "age.0 >= 5", "age.0 >= 3");
    program.expect_stderr("the second reload", |line| {
        line.starts_with("[hotreload] reloaded")
    });
    let later = program.expect_stdout("six alive", alive(6));
    assert!(
        number(&later, "retired") > number(&steady, "retired"),
        "{steady} / {later}"
    );
    // And it stays there: no creature the program cannot see piles up.
    let next = program.expect_stdout("the next ticks", {
        let mut seen = 0;
        move |line| {
            seen += i64::from(line.starts_with("tick="));
            seen == 5
        }
    });
    assert_eq!(number(&next, "alive"), 6, "{next}");
    assert!(number(&next, "oldest") <= 2, "{next}");
}
