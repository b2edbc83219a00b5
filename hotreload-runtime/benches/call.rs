//! What a hot call costs. Run both ways and compare within each run:
//!
//! ```sh
//! cargo bench -p hotreload-runtime --bench call                    # reload off
//! cargo bench -p hotreload-runtime --bench call --features reload  # reload on
//! ```
//!
//! `plain` is an ordinary non-inlined function, `hot` the same body marked
//! `#[hot]`; `update_idle` is `Reloader::update()` with nothing pending.
//! `*_async` are the same for an `async fn`, polled to its end once (a hot
//! `async fn` not reloaded yet calls its body directly, no allocation;
//! once reloaded, its future is boxed).

use std::hint::black_box;

use hotreload_runtime::hot;

#[inline(never)]
fn plain(state: &mut u64, x: u64) -> u64 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(x);
    *state >> 33
}

#[hot]
#[inline(never)]
fn hot_step(state: &mut u64, x: u64) -> u64 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(x);
    *state >> 33
}

#[divan::bench]
fn plain_call(bencher: divan::Bencher) {
    let mut state = 1u64;
    bencher.bench_local(|| plain(black_box(&mut state), black_box(3)));
}

#[divan::bench]
fn hot_call(bencher: divan::Bencher) {
    let mut state = 1u64;
    bencher.bench_local(|| hot_step(black_box(&mut state), black_box(3)));
}

#[inline(never)]
async fn plain_async(x: u64) -> u64 {
    x.wrapping_mul(6364136223846793005) >> 33
}

#[hot]
#[inline(never)]
async fn hot_async(x: u64) -> u64 {
    x.wrapping_mul(6364136223846793005) >> 33
}

/// Polls a future that never waits.
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => unreachable!("the future never waits"),
    }
}

#[divan::bench]
fn plain_call_async(bencher: divan::Bencher) {
    bencher.bench_local(|| ready(plain_async(black_box(3))));
}

#[divan::bench]
fn hot_call_async(bencher: divan::Bencher) {
    bencher.bench_local(|| ready(hot_async(black_box(3))));
}

#[divan::bench]
fn update_idle(bencher: divan::Bencher) {
    // HOTRELOAD=0 keeps the bench from watching and rebuilding this crate;
    // the handle then takes the same branch as a started one with nothing
    // pending, minus its one atomic load.
    // SAFETY: set before any other thread exists.
    unsafe { std::env::set_var("HOTRELOAD", "0") };
    let mut reloader = hotreload_runtime::Reloader::start().expect("reloader");
    bencher.bench_local(|| black_box(reloader.update()));
}

fn main() {
    divan::main();
}
