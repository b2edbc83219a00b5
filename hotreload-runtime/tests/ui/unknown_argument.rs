use hotreload_runtime::hot;

#[hot(fast)]
pub fn step() {}

fn main() {}
