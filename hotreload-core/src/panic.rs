//! Panics in hot code.
//!
//! A panic cannot unwind out of a reloaded build: each build has its own
//! copy of `std`, and the host's `catch_unwind` (including the one around
//! `main`) aborts on the other copy's panic ("Rust cannot catch foreign
//! exceptions"). So every hot function's body runs under `catch_unwind` in
//! the copy of `std` that raised the panic, and [`hot_panic`] hands the
//! panic to the host through [`HostHooks`], which the host installs in each
//! build it loads. The host then, by [`OnPanic`]:
//!
//! - `Rollback` (default): points the function back at the code it ran
//!   before the panicking generation, reports it at the next `update()`,
//!   and raises a host panic carrying [`RolledBack`]. The trampoline catches
//!   that and retries the call once with the restored code when every
//!   argument can be passed again (references, `&mut` state, primitives).
//!   Otherwise the call itself ends in an ordinary host panic (catch it with
//!   `std::panic::catch_unwind` to keep going); later calls run the restored
//!   code. Changes the panicking call made to `&mut` state before it
//!   panicked stay.
//! - `Propagate`: an ordinary panic in the host, as if the code had never
//!   been reloaded; the function keeps the new code.
//!
//! In the program's own (never reloaded) code no hooks are installed and a
//! panic unwinds as usual.

use std::any::Any;
use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

/// What to do when reloaded code panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnPanic {
    /// Restore the function's previous code and keep running (see the
    /// module docs for what happens to the panicking call).
    #[default]
    Rollback,
    /// Let the panic unwind in the host like any other panic.
    Propagate,
}

static POLICY: AtomicU8 = AtomicU8::new(0);

#[doc(hidden)]
pub fn set_policy(policy: OnPanic) {
    POLICY.store(policy as u8, Ordering::Relaxed);
}

#[cfg_attr(not(feature = "reload"), allow(dead_code))]
#[doc(hidden)]
pub fn policy() -> OnPanic {
    match POLICY.load(Ordering::Relaxed) {
        0 => OnPanic::Rollback,
        _ => OnPanic::Propagate,
    }
}

/// Functions of the host that a loaded build calls.
#[repr(C)]
pub struct HostHooks {
    /// Takes over a panic of the hot function `path` whose implementation
    /// (in the loaded build) is `implementation`. Never returns: it unwinds
    /// with a host panic.
    pub on_panic: fn(implementation: *const (), path: &str, message: &str) -> !,
}

/// Set by the host in each build it loads; null in the host itself.
pub static HOST_HOOKS: AtomicPtr<HostHooks> = AtomicPtr::new(std::ptr::null_mut());

/// The payload of the host panic raised after a rollback. The trampoline
/// catches it and retries the call with the restored code; a call whose
/// arguments cannot be passed twice ends in this panic, which
/// `std::panic::catch_unwind` can catch and downcast.
#[derive(Debug, Clone)]
pub struct RolledBack {
    /// The hot function whose new code panicked.
    pub function: String,
    /// The panic message.
    pub message: String,
}

impl std::fmt::Display for RolledBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "hot function `{}` panicked: {}",
            self.function, self.message
        )
    }
}

/// Runs a hot function's body (what its thunk calls) and hands a panic in
/// it to [`hot_panic`]. `implementation` is the thunk (what slots hold),
/// `path` the function's registry path.
#[doc(hidden)]
#[inline]
pub fn guard<R>(implementation: *const (), path: &'static str, body: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => hot_panic(implementation, path, payload),
    }
}

/// The future of a hot `async fn`'s body, boxed for its thunk to return,
/// with each poll guarded as [`guard`] guards a call: a panic while
/// polling goes to [`hot_panic`].
#[doc(hidden)]
pub fn guard_future<F: std::future::Future>(
    implementation: *const (),
    path: &'static str,
    future: F,
) -> std::pin::Pin<Box<Guarded<F>>> {
    Box::pin(Guarded {
        future,
        implementation: implementation as usize,
        path,
    })
}

/// What a hot `async fn`'s thunk passes its future through unless
/// `#[hot(?Send)]`: the name is what the compiler's error shows when the
/// future is not `Send`.
#[doc(hidden)]
#[inline(always)]
pub fn future_must_be_send_or_mark_the_fn_hot_not_send<F: std::future::Future + Send>(
    future: F,
) -> F {
    future
}

/// See [`guard_future`].
#[doc(hidden)]
pub struct Guarded<F> {
    future: F,
    /// The thunk's address (a `usize`, so the future is `Send` when `F` is).
    implementation: usize,
    path: &'static str,
}

impl<F: std::future::Future> std::future::Future for Guarded<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        // SAFETY: structural pinning of `future`: it is never moved out of
        // `Guarded` (no method hands it out by value, `Guarded` has no
        // `Drop` that moves it), and `Guarded` is `Unpin` only if `F` is.
        let (future, implementation, path) = unsafe {
            let this = self.get_unchecked_mut();
            (
                std::pin::Pin::new_unchecked(&mut this.future),
                this.implementation,
                this.path,
            )
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => hot_panic(implementation as *const (), path, payload),
        }
    }
}

/// Called with the payload of a panic a hot function's body raised.
#[doc(hidden)]
#[cold]
pub fn hot_panic(implementation: *const (), path: &'static str, payload: Box<dyn Any + Send>) -> ! {
    let hooks = HOST_HOOKS.load(Ordering::Acquire);
    if hooks.is_null() {
        // The host's own code: an ordinary panic.
        std::panic::resume_unwind(payload);
    }
    let message = payload_message(payload.as_ref());
    // The payload belongs to this build's std; only its text crosses over.
    drop(payload);
    // SAFETY: the host stored a pointer to its static HostHooks, of this
    // same runtime version (checked before it installed it).
    let on_panic = unsafe { (*hooks).on_panic };
    on_panic(implementation, path, &message)
}

/// Called by a trampoline whose call panicked: returns if the function was
/// rolled back (the caller retries), otherwise continues the panic.
#[doc(hidden)]
#[cold]
pub fn resume_unless_rolled_back(payload: Box<dyn Any + Send>) {
    if !payload.is::<RolledBack>() {
        std::panic::resume_unwind(payload);
    }
}

/// The text of a panic payload (`panic!("...")` gives `&str` or `String`).
pub fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}
