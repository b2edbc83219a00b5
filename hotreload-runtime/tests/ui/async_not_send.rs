use hotreload_runtime::hot;

async fn pause() {}

// The future holds an `Rc` across an await: not `Send`. `#[hot(?Send)]`
// says so.
#[hot]
pub async fn count() -> usize {
    let shared = std::rc::Rc::new(1);
    pause().await;
    *shared
}

fn main() {}
