//! `cargo run -p simulation`: runs Life at 30 generations a second and
//! prints a status line each second. Edit `src/rules.rs` while it runs.

use std::time::{Duration, Instant};

use simulation::World;

fn main() {
    let mut hot = hotreload_runtime::Reloader::start().expect("hot reload");
    eprintln!(
        "simulation running; edit {}/src/rules.rs and save to change the rules (Ctrl-C quits)",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut world = World::new(96, 48, 0x9E37_79B9_7F4A_7C15);
    let frame = Duration::from_millis(33);
    let mut last_status = Instant::now();
    // Stops by itself after SIMULATION_SECONDS (unset: runs until Ctrl-C).
    let limit = std::env::var("SIMULATION_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let started = Instant::now();
    while limit.is_none_or(|limit| started.elapsed() < limit) {
        world.step();
        if last_status.elapsed() >= Duration::from_secs(1) {
            println!("{}", world.status());
            last_status = Instant::now();
        }
        hot.update(); // the safe point: new code takes effect here
        std::thread::sleep(frame);
    }
}
