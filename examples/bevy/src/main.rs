//! A headless Bevy app, 50 frames a second, that says once a second where
//! its balls are. Run it with `cargo run -p bevy_example` and edit
//! `src/lib.rs` (see the README's "Bevy").

use std::time::Duration;

use bevy_app::{App, AppExit, Last, ScheduleRunnerPlugin};
use bevy_ecs::prelude::*;
use bevy_example::{Ball, systems};
use bevy_time::{Time, TimePlugin};
use hotreload_bevy::{AddHotSystems, HotReloadPlugin, HotReloaded};

/// Once a second: how many balls, where.
fn say_where(
    balls: Query<&Ball>,
    time: Res<Time>,
    mut last: Local<u64>,
    mut reloads: MessageReader<HotReloaded>,
) {
    for reload in reloads.read() {
        println!(
            "reloaded {:?} (generation {})",
            reload.changed, reload.generation
        );
    }
    let second = time.elapsed().as_secs();
    if second == *last {
        return;
    }
    *last = second;
    let places: Vec<String> = balls.iter().map(|ball| format!("{:.0}", ball.x)).collect();
    println!("{second}s: {} balls at {}", places.len(), places.join(", "));
}

/// Ends the example after `BEVY_EXAMPLE_SECONDS` (600 unless set).
fn stop_in_time(time: Res<Time>, mut exit: MessageWriter<AppExit>) {
    let seconds = std::env::var("BEVY_EXAMPLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600.0);
    if time.elapsed_secs_f64() > seconds {
        exit.write(AppExit::Success);
    }
}

fn main() {
    App::new()
        .add_plugins((
            ScheduleRunnerPlugin::run_loop(Duration::from_millis(20)),
            TimePlugin,
            HotReloadPlugin,
        ))
        .add_hot_systems(systems)
        .add_systems(Last, (say_where, stop_in_time))
        .run();
}
