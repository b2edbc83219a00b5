//! A simulation on rayon's thread pool, as simulation programs step their
//! worlds: a hot function that runs a parallel iterator, and a hot
//! function that rayon's workers call. Reloaded code runs on the
//! program's one pool (no second pool's threads appear), and a panic in
//! new code on a worker, which rayon carries back to the thread that
//! started the parallel loop, rolls the function back there like any
//! other panic: the program keeps stepping with the code before it. A
//! reload says, once, which of the package's statics and thread-locals new
//! code has its own instances of. A hot function whose result borrows
//! from what the caller lent is retried after a panic like any other; one
//! whose result borrows from a `&mut` argument cannot be, and its panic,
//! which ends the program, is told before it does.

use hotreload_tests::{Fixture, Program, Stream, field, has, is_frame, is_reload, per_frame};

/// How fast particle 0 speeds up per frame.
fn kick_per_frame(program: &mut Program) -> i64 {
    per_frame(program, "v")
}

/// The ready program, and the number of its threads (its pool's and the
/// reloader's) from a frame printed after it was ready.
fn started() -> (Fixture, Program, String) {
    let (fixture, mut program) = Fixture::running("parallel");
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    program.skip_to_now();
    let before = program.expect_stdout("a frame", is_frame);
    let threads = field(&before, "threads").expect("threads=").to_string();
    (fixture, program, threads)
}

#[test]
fn a_simulation_on_rayons_pool_reloads_its_parallel_loop_and_its_workers_function() {
    let (fixture, mut program, threads) = started();
    assert_eq!(kick_per_frame(&mut program), 1);

    // A parallel loop's new code, and a function the workers call.
    fixture.edit("src/lib.rs", "\"v0\"", "\"v1\"");
    let line = program.line_after_update("reloaded", is_frame);
    assert_eq!(field(&line, "marker"), Some("v1"), "{line}");
    // Its writable static is its own; the `#[hot]` one is the program's,
    // and a read-only one is the same in any copy.
    let reload = program.expect_stderr("the reload of step", is_reload);
    assert!(
        reload.contains("new code has its own static `parallel::STEPS`, started again from the initial value, not the program's"),
        "{reload}"
    );
    assert!(
        !reload.contains("SHARED_STEPS") && !reload.contains("PHASES"),
        "{reload}"
    );
    fixture.edit("src/lib.rs", "p.v += 1.0;", "p.v += 2.0;");
    program.expect_stdout("update=reloaded", has("update", "reloaded"));
    let reload = program.expect_stderr("the reload of kick", is_reload);
    assert!(
        reload.contains("its own thread-local `parallel::KICKS`"),
        "{reload}"
    );
    assert_eq!(
        kick_per_frame(&mut program),
        2,
        "the workers run the new kick"
    );
    let line = program.expect_stdout("a frame", is_frame);
    assert_eq!(
        field(&line, "threads"),
        Some(threads.as_str()),
        "reloaded code started a pool of its own: {line} (before: {threads} threads)"
    );
    // Told once: a later build of `step` does not name `STEPS` again.
    fixture.edit("src/lib.rs", "\"v1\"", "\"v3\"");
    let line = program.line_after_update("reloaded", is_frame);
    assert_eq!(field(&line, "marker"), Some("v3"), "{line}");
    let reload = program.expect_stderr("the second reload of step", is_reload);
    assert!(!reload.contains("STEPS"), "{reload}");
}

#[test]
fn a_panic_on_rayons_workers_rolls_back_and_the_simulation_steps_on() {
    let (fixture, mut program, threads) = started();
    let line = program.expect_stdout("a frame", is_frame);
    assert_eq!(field(&line, "marker"), Some("v0"), "{line}");

    // A panic on a worker in a parallel loop of new code: rayon resumes it
    // in `step`, whose call is rolled back there and retried (its result,
    // `&'static str`, borrows nothing).
    let lib = fixture.read("src/lib.rs").replace("\"v0\"", "\"v2\"").replace(
        "p.x += p.v * dt;\n",
        "p.x += p.v * dt;\n        if p.id == 7 {\n            panic!(\"particle 7 escaped\");\n        }\n",
    );
    fixture.write("src/lib.rs", &lib);
    let refusal = program.expect_stderr("HOT040 of step", |line| line.contains("HOT040"));
    assert!(
        refusal.contains("`parallel::step` panicked: particle 7 escaped")
            && refusal.contains("the call was retried"),
        "{refusal}"
    );
    let line = program.line_after_update("panicked", is_frame);
    assert_eq!(field(&line, "marker"), Some("v0"), "{line}");

    // A panic in a hot function on the workers: rolled back on the worker.
    fixture.edit(
        "src/lib.rs",
        "p.v += 1.0;",
        "p.v += 3.0;\n    if p.id == 0 {\n        panic!(\"kick 0\");\n    }",
    );
    let refusal = program.expect_stderr("HOT040 of kick", |line| line.contains("HOT040"));
    assert!(
        refusal.contains("`parallel::kick` panicked: kick 0"),
        "{refusal}"
    );
    program.expect_stdout("update=panicked", has("update", "panicked"));
    assert_eq!(
        kick_per_frame(&mut program),
        1,
        "kick's code before the panic"
    );
    let line = program.expect_stdout("a frame", is_frame);
    assert_eq!(field(&line, "threads"), Some(threads.as_str()), "{line}");
    assert!(
        !program
            .seen(Stream::Stderr)
            .iter()
            .any(|line| line.contains("panicked at src/main.rs")),
        "the program itself panicked"
    );
}

#[test]
fn a_panic_in_a_function_returning_a_borrow_is_retried_or_told_before_it_ends_the_program() {
    let (fixture, mut program, _) = started();
    let line = program.expect_stdout("a frame", is_frame);
    assert_eq!(field(&line, "milestones"), Some("10"), "{line}");

    // `milestones` returns an iterator over the `&[Particle]` it was lent:
    // its call can be made again, with the code before the panic.
    fixture.edit(
        "src/lib.rs",
        "    Box::new(particles.iter().filter(|p| p.id % 1000 == 0)",
        "    assert!(particles.is_empty(), \"no milestones\");\n    Box::new(particles.iter().filter(|p| p.id % 500 == 0)",
    );
    let told = program.expect_stderr("HOT040 of milestones", |line| line.contains("HOT040"));
    assert!(
        told.contains("`parallel::milestones` panicked: no milestones")
            && told.contains("the call was retried"),
        "{told}"
    );
    let line = program.line_after_update("panicked", is_frame);
    assert_eq!(field(&line, "milestones"), Some("10"), "{line}");
    // Told once, when it happened: `update()` returned it, the default
    // reporter did not print it again.
    program.expect_stdout("a later frame", is_frame);
    let told = program
        .seen(Stream::Stderr)
        .iter()
        .filter(|line| line.contains("HOT040"))
        .count();
    assert_eq!(told, 1, "{:?}", program.seen(Stream::Stderr));

    // `leader` returns a borrow of its `&mut` argument: its call cannot be
    // made again and goes on as a panic in `main`, which ends the program.
    // The report comes before the end, not at an `update()` that never runs.
    fixture.edit(
        "src/lib.rs",
        "    &mut particles[0]\n",
        "    let front = particles.len();\n    &mut particles[front]\n",
    );
    let told = program.expect_stderr("HOT040 of leader", |line| line.contains("HOT040"));
    assert!(
        told.contains("`parallel::leader` panicked: index out of bounds")
            && told.contains("goes on as a panic in its caller")
            && told.contains("hotreload_runtime::RolledBack"),
        "{told}"
    );
    let status = program.expect_exit("the end of the program");
    assert_eq!(status.code(), Some(101), "{status:?}");
}
