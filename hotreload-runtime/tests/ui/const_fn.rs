use hotreload_runtime::hot;

#[hot]
pub const fn limit() -> u32 {
    7
}

fn main() {}
