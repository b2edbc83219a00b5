//! What the app draws: edit it while it runs.

use hotreload_runtime::hot;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

/// The app's state: survives every reload.
#[derive(Debug, Default)]
pub struct App {
    pub frames: u64,
    /// The last hot reload report, for the status bar.
    pub status: String,
}

/// Draws one frame. Edit the greeting or the colour and save.
#[hot]
pub fn render(frame: &mut Frame, app: &App) {
    let [body, status] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(frame.area());
    let greeting = "Hello from the hot render function";
    let text = vec![
        Line::from(greeting),
        Line::from(format!("frames drawn: {}", app.frames)),
        Line::from("edit examples/terminal/src/lib.rs; q quits"),
    ];
    frame.render_widget(
        Paragraph::new(text)
            .style(Style::new().fg(Color::Green))
            .block(Block::bordered().title(" hotreload ")),
        body,
    );
    frame.render_widget(Line::from(format!("status: {}", app.status)), status);
}
