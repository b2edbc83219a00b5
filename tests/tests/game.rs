//! The macroquad example (`examples/game`) in a real window under Xvfb
//! (software GL): after an edit of its drawing code, the pixels read back
//! from the window are the new colour, and no drawing call panics
//! (macroquad's global context is the program's: see *One copy*).

use std::process::Command;

use hotreload_tests::{Fixture, Program, Stream, field, have_tools};

#[test]
fn a_drawing_edit_shows_in_the_window() {
    if !have_tools(
        &["xvfb-run", "xauth"],
        "apt-get install xvfb xauth libgl1 libgl1-mesa-dri libx11-6 libxi6",
    ) {
        return;
    }
    let fixture = Fixture::example("game");
    let exe = fixture.build("game");
    let mut command = Command::new("xvfb-run");
    command
        .args(["-a", "-s", "-screen 0 640x480x24"])
        .arg(exe)
        .env("GAME_FRAMES", "300000");
    let mut program = Program::spawn(command);
    let corner = |colour: &'static str| move |line: &str| field(line, "corner") == Some(colour);
    program.expect_stdout("a frame in DARKBLUE", corner("0052ab"));
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });

    fixture.edit(
        "src/lib.rs",
        "clear_background(DARKBLUE);",
        "clear_background(MAROON);",
    );
    program.expect_stderr("the reload", |line| {
        line.starts_with("[hotreload] reloaded draw")
    });
    program.expect_stdout("a frame in MAROON", corner("bf2138"));
    // The text and the ball are drawn by the new code too, without a panic.
    program.expect_stdout("more frames", corner("bf2138"));
    let stderr = program.seen(Stream::Stderr);
    assert!(
        !stderr
            .iter()
            .any(|line| line.contains("HOT040") || line.contains("panicked")),
        "{stderr:?}"
    );
}
