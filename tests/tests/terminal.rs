//! The ratatui example (`examples/terminal`) in a real terminal (tmux):
//! after an edit the screen shows the new text, reports land in the app's
//! status bar and never over the screen, and a panicking edit is rolled
//! back while the app keeps drawing.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hotreload_tests::{Fixture, have_tools};

/// A tmux server of its own, with one window running the app.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(exe: &Path) -> Tmux {
        let socket = format!("hotreload-test-{}", std::process::id());
        // Quits by itself after ~4000 frames (at most 50 ms each).
        let command = format!("env TERMINAL_FRAMES=4000 {}", exe.display());
        let started = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-x", "100", "-y", "16"])
            .arg(command)
            .status()
            .expect("tmux is installed (.ci/run installs it)");
        assert!(started.success(), "tmux did not start");
        Tmux { socket }
    }

    /// The screen as text.
    fn screen(&self) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "0"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Types `keys` into the app.
    fn keys(&self, keys: &str) {
        let sent = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "0", keys])
            .status()
            .expect("tmux send-keys");
        assert!(sent.success(), "tmux send-keys failed");
    }

    /// Waits until the screen satisfies `matches`, and returns it.
    fn expect(&self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let screen = self.screen();
            if matches(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The status bar (the last line of the screen).
fn status(screen: &str) -> &str {
    screen.trim_end().lines().last().unwrap_or_default()
}

/// Everything above the status bar.
fn body(screen: &str) -> String {
    let lines: Vec<&str> = screen.trim_end().lines().collect();
    lines[..lines.len().saturating_sub(1)].join("\n")
}

fn frames(screen: &str) -> u64 {
    screen
        .lines()
        .find_map(|line| line.split("frames drawn: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame count on the screen:\n{screen}"))
}

#[test]
fn a_full_screen_app_shows_edits_and_reports_in_its_status_bar() {
    if !have_tools(&["tmux"], "apt-get install tmux") {
        return;
    }
    let fixture = Fixture::example("terminal");
    let exe = fixture.build("terminal");
    let tmux = Tmux::start(&exe);
    tmux.expect("the first frame and the ready report", |screen| {
        screen.contains("Hello from the hot render function")
            && status(screen).starts_with("status: ready: watching terminal")
    });

    fixture.edit(
        "src/lib.rs",
        "\"Hello from the hot render function\"",
        "\"Hello, edited while running\"",
    );
    let reloaded = tmux.expect("the new text", |screen| {
        body(screen).contains("Hello, edited while running")
    });
    tmux.expect("the reload in the status bar", |screen| {
        status(screen).starts_with("status: reloaded render")
    });
    assert!(!reloaded.contains("[hotreload]"), "{reloaded}");

    // A mistake: the old code goes on drawing, the report says why.
    fixture.edit(
        "src/lib.rs",
        "let greeting = \"Hello, edited while running\";",
        "let greeting: &str = panic!(\"a mistake in the edit\");",
    );
    let panicked = tmux.expect("the panic in the status bar", |screen| {
        status(screen).starts_with("status: HOT040 `terminal::render` panicked: a mistake")
    });
    let later = tmux.expect("more frames drawn by the old code", |screen| {
        frames(screen) > frames(&panicked) + 5
    });
    let text = body(&later);
    assert!(text.contains("Hello, edited while running"), "{later}");
    assert!(
        !text.contains("panicked") && !text.contains("[hotreload]"),
        "{later}"
    );

    // The whole report, which the status bar cuts: the `r` key.
    tmux.keys("r");
    let report = tmux.expect("the whole report", |screen| {
        body(screen).contains("last report (r closes)")
    });
    let report = body(&report);
    assert!(
        report.contains("a mistake in the edit") && report.contains("src/lib.rs:"),
        "the panic's place is not in the report:\n{report}"
    );
}
