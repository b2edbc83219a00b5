use hotreload_runtime::hot;

#[hot]
pub async fn fetch() -> u32 {
    7
}

fn main() {}
