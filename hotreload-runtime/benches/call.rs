//! What a hot call costs. Run both ways and compare within each run:
//!
//! ```sh
//! cargo bench -p hotreload-runtime --bench call                    # reload off
//! cargo bench -p hotreload-runtime --bench call --features reload  # reload on
//! ```
//!
//! `plain` is an ordinary non-inlined function, `hot` the same body marked
//! `#[hot]`; `update_idle` is `Reloader::update()` with nothing pending.
//! `*_async` are the same for an `async fn`, its future polled to its end
//! once as an executor polls a task: moved into the task's place and
//! polled there through `dyn Future`. `*_async_inlined` poll it right where
//! it was made, where the compiler can keep a small future in registers:
//! there the hot one's out-of-line panic path (the future's address goes
//! to it) keeps it in memory, and moving it costs a stalled load; an
//! executor keeps every future in memory. A hot `async fn` not reloaded yet
//! calls its body directly, no allocation; `hot_call_async_reloaded` (with
//! `reload`) is one whose slot points at other code, as after a reload:
//! the new code's future is boxed.

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

/// Polls a future that never waits, right where it was made.
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    poll_once(future.as_mut())
}

/// Polls a future that never waits as an executor polls a task: in its
/// place, through `dyn Future`.
#[inline(always)]
fn as_task(future: impl std::future::Future<Output = u64>) -> u64 {
    let mut future = std::pin::pin!(future);
    poll_task(future.as_mut())
}

#[inline(never)]
fn poll_task(future: std::pin::Pin<&mut dyn std::future::Future<Output = u64>>) -> u64 {
    poll_once(future)
}

#[inline(always)]
fn poll_once<F: std::future::Future + ?Sized>(future: std::pin::Pin<&mut F>) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.poll(&mut cx) {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => unreachable!("the future never waits"),
    }
}

#[divan::bench]
fn plain_call_async(bencher: divan::Bencher) {
    bencher.bench_local(|| as_task(plain_async(black_box(3))));
}

#[divan::bench]
fn hot_call_async(bencher: divan::Bencher) {
    bencher.bench_local(|| as_task(hot_async(black_box(3))));
}

#[divan::bench]
fn plain_call_async_inlined(bencher: divan::Bencher) {
    bencher.bench_local(|| ready(plain_async(black_box(3))));
}

#[divan::bench]
fn hot_call_async_inlined(bencher: divan::Bencher) {
    bencher.bench_local(|| ready(hot_async(black_box(3))));
}

#[cfg(feature = "reload")]
mod reloaded {
    use super::*;

    #[hot]
    #[inline(never)]
    async fn hot_async_reloaded(x: u64) -> u64 {
        x.wrapping_mul(6364136223846793005) >> 33
    }

    #[hot]
    #[inline(never)]
    #[allow(dead_code)] // called through `hot_async_reloaded`'s slot
    async fn new_code(x: u64) -> u64 {
        x.wrapping_mul(6364136223846793005) >> 33
    }

    #[divan::bench]
    fn hot_call_async_reloaded(bencher: divan::Bencher) {
        // SAFETY: both slots hold thunks of one signature, as after a
        // verified reload; `new_code`'s stays mapped (it is this binary's).
        unsafe {
            __HOTRELOAD_ENTRY_HOT_ASYNC_RELOADED
                .slot
                .set(__HOTRELOAD_ENTRY_NEW_CODE.slot.original())
        };
        bencher.bench_local(|| as_task(hot_async_reloaded(black_box(3))));
    }
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
