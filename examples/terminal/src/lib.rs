//! What the app draws: edit it while it runs.

use hotreload_runtime::hot;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

/// The app's state: survives every reload.
#[derive(Debug, Default)]
pub struct App {
    pub frames: u64,
    /// The last hot reload report, for the status bar, which shows its
    /// first line (a compile error or a panic's place may come after).
    pub status: String,
    /// Whether the whole report is shown (the `r` key).
    pub show_report: bool,
}

/// Draws one frame. Edit the greeting or the colour and save.
#[hot]
pub fn render(frame: &mut Frame, app: &App) {
    let [body, status] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(frame.area());
    let greeting = "Hello from the hot render function";
    if app.show_report {
        frame.render_widget(
            Paragraph::new(app.status.as_str())
                .wrap(Wrap { trim: false })
                .block(Block::bordered().title(" last report (r closes) ")),
            body,
        );
    } else {
        let text = vec![
            Line::from(greeting),
            Line::from(format!("frames drawn: {}", app.frames)),
            Line::from("edit examples/terminal/src/lib.rs; r shows the last report; q quits"),
        ];
        frame.render_widget(
            Paragraph::new(text)
                .style(Style::new().fg(Color::Green))
                .block(Block::bordered().title(" hotreload ")),
            body,
        );
    }
    let first = app.status.lines().next().unwrap_or_default();
    frame.render_widget(Line::from(format!("status: {first}")), status);
}
