//! `cargo run -p simulation`: runs Life at 30 generations a second and
//! prints a status line each second. Edit `src/rules.rs` while it runs, or
//! add a field to `World` in `src/lib.rs`: the program restarts with the
//! world it had.

use std::time::{Duration, Instant};

use simulation::World;

fn main() {
    let mut hot = hotreload_runtime::Reloader::start().expect("hot reload");
    eprintln!(
        "simulation running; edit {}/src/rules.rs and save to change the rules (Ctrl-C quits)",
        env!("CARGO_MANIFEST_DIR")
    );
    // After a restart for a change to `World`: the world as it was, in the
    // new type.
    let mut world = hot
        .take_state()
        .unwrap_or_else(|| World::new(96, 48, 0x9E37_79B9_7F4A_7C15));
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
        // The safe point: new code takes effect here, and an edit to `World`
        // restarts the program with `world` moved over.
        hot.update_with(&world);
        std::thread::sleep(frame);
    }
}
