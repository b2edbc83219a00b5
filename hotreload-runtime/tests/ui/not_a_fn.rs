use hotreload_runtime::hot;

#[hot]
pub struct World {
    pub score: u32,
}

fn main() {}
