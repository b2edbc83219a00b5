use hotreload_runtime::hot;

#[hot]
pub extern "C" fn callback(x: i32) -> i32 {
    x + 1
}

fn main() {}
