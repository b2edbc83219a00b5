//! The systems of the example: edit them while it runs (see the README).

use bevy_app::{Startup, Update};
use bevy_ecs::prelude::*;
use hotreload_bevy::HotSystems;
use hotreload_runtime::hot;

/// Where a ball is, on a line from 0 to 100.
#[derive(Component)]
pub struct Ball {
    pub x: f32,
    pub speed: f32,
}

/// Which systems there are. Edit it to add one: `(move_balls, spawn_balls)`.
#[hot]
pub fn systems(hot: &mut HotSystems) {
    hot.add_systems(Startup, spawn_first);
    hot.add_systems(Update, move_balls);
}

/// Two balls to start with.
pub fn spawn_first(mut commands: Commands) {
    commands.spawn(Ball { x: 0.0, speed: 1.0 });
    commands.spawn(Ball {
        x: 50.0,
        speed: 2.0,
    });
}

/// Moves every ball, bouncing at the ends. Edit the body (the bounce), or
/// give it a parameter: `time: Res<bevy_time::Time>` to move by time.
#[hot]
pub fn move_balls(mut balls: Query<&mut Ball>) {
    for mut ball in &mut balls {
        ball.x += ball.speed;
        if !(0.0..=100.0).contains(&ball.x) {
            ball.speed = -ball.speed;
            ball.x = ball.x.clamp(0.0, 100.0);
        }
    }
}

/// Not running yet: add it in `systems`. A new ball every 50 frames.
#[hot]
pub fn spawn_balls(mut commands: Commands, mut frames: Local<u32>) {
    *frames += 1;
    if frames.is_multiple_of(50) {
        commands.spawn(Ball { x: 0.0, speed: 3.0 });
    }
}
