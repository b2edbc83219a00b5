//! Conway's Life on a small torus. The world lives in the running program;
//! the rules in `rules.rs` are `#[hot]`: edit them while it runs.

pub mod rules;

/// The state that survives every reload. A reload cannot take a change to
/// it (new code would misread the running program's `World`); instead the
/// program restarts with the world moved into the new type, through serde
/// (see `main.rs`): add a field with `#[serde(default)]` and it starts at
/// its default, every other value kept.
#[derive(hotreload_runtime::Layout, serde::Serialize, serde::Deserialize)]
pub struct World {
    pub width: usize,
    pub height: usize,
    pub cells: Vec<bool>,
    pub generation: u64,
}

impl World {
    /// A world seeded from `seed` (a small xorshift, no dependencies).
    pub fn new(width: usize, height: usize, mut seed: u64) -> World {
        let cells = (0..width * height)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed.is_multiple_of(3)
            })
            .collect();
        World {
            width,
            height,
            cells,
            generation: 0,
        }
    }

    /// Live neighbours of a cell (wrapping at the edges).
    pub fn neighbours(&self, x: usize, y: usize) -> u8 {
        let mut count = 0;
        for dy in [self.height - 1, 0, 1] {
            for dx in [self.width - 1, 0, 1] {
                if (dx, dy) != (0, 0) {
                    let (nx, ny) = ((x + dx) % self.width, (y + dy) % self.height);
                    count += u8::from(self.cells[ny * self.width + nx]);
                }
            }
        }
        count
    }

    pub fn alive(&self) -> usize {
        self.cells.iter().filter(|&&alive| alive).count()
    }
}
