//! The rules of the simulation. Everything marked #[hot] can be edited
//! while `cargo run -p simulation` runs: save, and the next frame uses it.
//!
//! Try: HighLife (`3 | 6` for births), or a status line that shows more.

use hotreload_runtime::hot;

use crate::World;

/// Whether a cell is alive in the next generation. Conway's B3/S23.
#[hot]
pub fn next_state(alive: bool, neighbours: u8) -> bool {
    matches!((alive, neighbours), (true, 2 | 3) | (false, 3))
}

#[hot]
impl World {
    /// Advances the world by one generation.
    pub fn step(&mut self) {
        let next = (0..self.height)
            .flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .map(|(x, y)| next_state(self.cells[y * self.width + x], self.neighbours(x, y)))
            .collect();
        self.cells = next;
        self.generation += 1;
    }

    /// The line printed once a second.
    pub fn status(&self) -> String {
        let alive = self.alive();
        let density = alive as f64 / self.cells.len() as f64;
        format!(
            "generation {:>6} | alive {:>5} | density {:.3}",
            self.generation, alive, density
        )
    }
}
