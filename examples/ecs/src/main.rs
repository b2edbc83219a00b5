//! `cargo run -p ecs`, then edit `examples/ecs/src/lib.rs`: the census line
//! counts the creatures with the program's own query, so a creature born
//! in reloaded code counts as any other.

use bevy_ecs::message::Messages;
use ecs::{Age, Census, Retired};

fn main() {
    let mut hot = hotreload_runtime::Reloader::start().unwrap_or_else(|error| {
        eprintln!("no hot reload: {error}");
        hotreload_runtime::Reloader::off()
    });
    let mut world = ecs::world();
    let mut schedule = ecs::schedule();
    let ticks: u64 = std::env::var("ECS_TICKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    println!("ready");
    for tick in 0..ticks {
        schedule.run(&mut world);
        // Messages live two ticks, as in a bevy app.
        world.resource_mut::<Messages<Retired>>().update();
        let alive = world.query::<&Age>().iter(&world).count();
        let oldest = world.query::<&Age>().iter(&world).map(|age| age.0).max();
        let census = world.resource::<Census>();
        println!(
            "tick={tick} alive={alive} oldest={} born={} retired={}",
            oldest.unwrap_or(0),
            census.born,
            census.retired
        );
        hot.update();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
