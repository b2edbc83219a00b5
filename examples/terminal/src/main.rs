//! `cargo run -p terminal` in a terminal, then edit
//! `examples/terminal/src/lib.rs`.
//!
//! A full-screen app owns its screen, so nothing may print over it: the
//! default reporter is off (`report(false)`) and each report goes to the
//! status bar instead (`Update` displays as the reporter's line), and the
//! whole of it (a compile error's lines, a panic's place) to a panel the
//! `r` key opens. Panics
//! are kept off the screen the same way: ratatui's own panic hook would
//! leave the alternate screen on any panic, even one in reloaded code that
//! the reloader catches and rolls back, so this hook only records the
//! message and the terminal is restored when `main` ends (a `Drop` guard,
//! also run when a panic unwinds out of `main`).
//!
//! With `TERMINAL_FRAMES`, it quits by itself after that many frames.

use std::sync::Mutex;
use std::time::Duration;

use hotreload_runtime::{Reloader, Update};
use ratatui::crossterm::event::{self, Event, KeyCode};
use terminal::App;

/// The last panic's message, for the status bar.
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// Restores the terminal when dropped.
struct Screen;

impl Drop for Screen {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

fn main() -> std::io::Result<()> {
    let mut app = App::default();
    let mut hot = Reloader::start()
        .unwrap_or_else(|error| {
            app.status = format!("no hot reload: {error}");
            Reloader::off()
        })
        .report(false);
    let mut terminal = ratatui::init();
    let _screen = Screen;
    std::panic::set_hook(Box::new(|info| {
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = info.to_string();
    }));
    let frames: u64 = std::env::var("TERMINAL_FRAMES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    while app.frames < frames {
        terminal.draw(|frame| terminal::render(frame, &app))?;
        app.frames += 1;
        match hot.update() {
            Update::Idle => {}
            Update::Panicked(panic) => {
                let at = LAST_PANIC.lock().unwrap().clone();
                app.status = format!("{panic}\n{at}");
            }
            update => app.status = update.to_string(),
        }
        if event::poll(Duration::from_millis(50))?
            && let Event::Key(key) = event::read()?
        {
            match key.code {
                KeyCode::Char('q') => break,
                KeyCode::Char('r') => app.show_report = !app.show_report,
                _ => {}
            }
        }
    }
    Ok(())
}
