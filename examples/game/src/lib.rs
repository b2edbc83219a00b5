//! What the game draws and how it moves: edit it while the window is open.

use hotreload_runtime::hot;
use macroquad::prelude::*;

/// The game's state: survives every reload.
#[derive(Debug)]
pub struct Ball {
    pub x: f32,
    pub y: f32,
    pub dx: f32,
    pub dy: f32,
}

impl Default for Ball {
    fn default() -> Ball {
        Ball {
            x: 40.0,
            y: 40.0,
            dx: 1.0,
            dy: 0.5,
        }
    }
}

/// Moves the ball, bouncing off the edges.
#[hot]
pub fn step(ball: &mut Ball) {
    ball.x += ball.dx;
    ball.y += ball.dy;
    if ball.x < 0.0 || ball.x > screen_width() {
        ball.dx = -ball.dx;
    }
    if ball.y < 0.0 || ball.y > screen_height() {
        ball.dy = -ball.dy;
    }
}

/// Draws one frame: edit the colours and save.
#[hot]
pub fn draw(ball: &Ball) {
    clear_background(DARKBLUE);
    draw_circle(ball.x, ball.y, 12.0, YELLOW);
    draw_text("edit examples/game/src/lib.rs", 8.0, 20.0, 20.0, WHITE);
}
