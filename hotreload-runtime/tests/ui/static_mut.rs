use hotreload_runtime::hot;

#[hot]
pub static mut COUNT: u32 = 0;

fn main() {}
