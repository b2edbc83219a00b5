//! `cargo run -p game`, then edit `examples/game/src/lib.rs`: the next frame
//! is drawn by the new code, and the ball goes on from where it was.
//!
//! With `GAME_FRAMES`, it quits by itself after that many frames and
//! prints, every tenth frame, the colour of the screen's corner pixel read
//! back from the window (`frame=N corner=RRGGBB`).

use game::Ball;
use macroquad::prelude::*;

fn window() -> Conf {
    Conf {
        window_title: "hotreload game".into(),
        window_width: 320,
        window_height: 240,
        ..Conf::default()
    }
}

#[macroquad::main(window)]
async fn main() {
    let mut hot = hotreload_runtime::Reloader::start().unwrap_or_else(|error| {
        eprintln!("no hot reload: {error}");
        hotreload_runtime::Reloader::off()
    });
    let frames: Option<u64> = std::env::var("GAME_FRAMES")
        .ok()
        .and_then(|n| n.parse().ok());
    let mut ball = Ball::default();
    for frame in 0..frames.unwrap_or(u64::MAX) {
        game::step(&mut ball);
        game::draw(&ball);
        if frames.is_some() && frame % 10 == 0 {
            let screen = get_screen_data();
            let [r, g, b, _]: [f32; 4] = screen.get_pixel(2, 2).into();
            println!(
                "frame={frame} corner={:02x}{:02x}{:02x} ball={:.0},{:.0}",
                (r * 255.0) as u8,
                (g * 255.0) as u8,
                (b * 255.0) as u8,
                ball.x,
                ball.y
            );
        }
        hot.update();
        next_frame().await;
    }
}
