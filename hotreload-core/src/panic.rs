//! Panics in hot code.
//!
//! A panic cannot unwind from one copy of `std` into another: each copy
//! treats the other's panics as foreign exceptions and aborts ("Rust cannot
//! catch foreign exceptions"). The program has its own `std`; every
//! reloaded build links the toolchain's shared `libstd`, one copy for all
//! of them. So panics are handed across as values, never unwound across:
//!
//! - In reloaded code, every hot function's body runs under [`guard_reloaded`]
//!   (in the shared `libstd`), and the host tracks how deep in reloaded
//!   code each thread is ([`HostHooks::enter`]). A panic caught by a guard
//!   with reloaded code around it (a hot call from a hot function) is
//!   reported to the host ([`HostHooks::on_nested_panic`], which rolls the
//!   function back) and unwinds on as [`Reported`], in the shared `libstd`:
//!   the calling trampoline retries with the restored code when it can,
//!   else the outermost guard hands it to the host. The outermost guard
//!   hands a panic to the host ([`HostHooks::on_panic`]), which raises a
//!   host panic from host code.
//! - In the program's own code (no hooks installed), a hot function called
//!   from reloaded code (a function of a package that was not rebuilt)
//!   catches its panic in the host's `std` and raises it again in the
//!   shared `libstd`, with the function the reloaded caller registered
//!   when it entered. Outside reloaded code it is an ordinary function.
//!
//! The host then, by [`OnPanic`]:
//!
//! - `Rollback` (default): points the function back at the code it ran
//!   before the panicking generation, reports it at the next `update()`,
//!   and raises a host panic carrying [`RolledBack`]. The trampoline catches
//!   that and retries the call once with the restored code when every
//!   argument can be passed again (references, `&mut` state, primitives)
//!   and the result does not borrow from a `&mut` one.
//!   Otherwise the call itself ends in an ordinary host panic (catch it with
//!   `std::panic::catch_unwind` to keep going); later calls run the restored
//!   code. Changes the panicking call made to `&mut` state before it
//!   panicked stay.
//! - `Propagate`: an ordinary panic in the host, as if the code had never
//!   been reloaded; the function keeps the new code.
//!
//! Not handled: a panic in *program* code that is not hot (a closure the
//! program passed in) called from reloaded code: it unwinds in the host's
//! `std` into reloaded frames and aborts.

use std::any::Any;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::host_link::HostLink;
use crate::registry::{CALLS, Entry, Slot};

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
    /// (in the loaded build) is `implementation`, caught by the outermost
    /// guard of reloaded code. Never returns: it unwinds with a host panic.
    pub on_panic: fn(implementation: *const (), path: &str, message: &str) -> !,
    /// Records such a panic caught with reloaded code around it (rolls the
    /// function back, reports it) and says whether it was rolled back; the
    /// panic unwinds on in reloaded code.
    pub on_nested_panic: fn(implementation: *const (), path: &str, message: &str) -> bool,
    /// At the outermost guard, a panic already reported: raises it in the
    /// host ([`RolledBack`] if `rolled_back`, else its message).
    pub raise_reported: fn(reported: &Reported) -> !,
    /// A guard of reloaded code is entered on this thread; `raise` raises
    /// a [`Reported`] in the build's `std`. Returns whether the code
    /// around it is reloaded code too.
    pub enter: fn(raise: fn(Reported) -> !) -> bool,
    /// ... and left.
    pub leave: fn(),
}

/// Set by the host in each build it loads; null in the host itself.
pub static HOST_HOOKS: HostLink<HostHooks> = HostLink::new();

/// A panic already reported to the host, unwinding on in reloaded code.
#[derive(Debug)]
pub struct Reported {
    /// The hot function's path.
    pub function: String,
    /// The panic's message.
    pub message: String,
    /// Whether the function now runs the code it ran before.
    pub rolled_back: bool,
}

/// A guard the thread is in, as the host's copy tracks them.
#[derive(Clone, Copy)]
enum Frame {
    /// Of reloaded code, with its `raise`.
    Reloaded(fn(Reported) -> !),
    /// Of the program's own code, called from reloaded code.
    Host,
}

thread_local! {
    /// In the host's copy: the guards the thread is in, innermost last,
    /// from the outermost guard of reloaded code on.
    static FRAMES: std::cell::RefCell<Vec<Frame>> = const { std::cell::RefCell::new(Vec::new()) };
    /// How many: the program's own hot calls check only this (a plain
    /// thread-local load, no destructor to register).
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// In the host's copy: whether reloaded code ever ran. Until then the
/// program's own hot calls do not even look at [`DEPTH`].
static RELOADED_RAN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Pushes `frame`; returns the frame it is in.
fn enter(frame: Frame) -> Option<Frame> {
    RELOADED_RAN.store(true, Ordering::Relaxed);
    DEPTH.with(|depth| depth.set(depth.get() + 1));
    FRAMES.with(|frames| {
        let mut frames = frames.borrow_mut();
        let around = frames.last().copied();
        frames.push(frame);
        around
    })
}

fn leave() {
    DEPTH.with(|depth| depth.set(depth.get().saturating_sub(1)));
    FRAMES.with(|frames| {
        frames.borrow_mut().pop();
    });
}

/// [`HostHooks::enter`] for the host to install.
#[doc(hidden)]
pub fn enter_reloaded(raise: fn(Reported) -> !) -> bool {
    matches!(enter(Frame::Reloaded(raise)), Some(Frame::Reloaded(_)))
}

/// [`HostHooks::leave`] for the host to install.
#[doc(hidden)]
pub fn leave_reloaded() {
    leave();
}

/// Raises `reported` in this copy of `std`: what [`HostHooks::enter`] is
/// given.
fn raise_here(reported: Reported) -> ! {
    std::panic::resume_unwind(Box::new(reported))
}

/// What became of a call whose new code panicked, once the function was
/// rolled back: decided by the function's signature.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanickedCall {
    /// Called again with the restored code, whose result it returned:
    /// every argument can be passed again (references, `&mut` state,
    /// numbers, `bool`, `char`), the result does not borrow from a `&mut`
    /// one (nor, for an `async fn`, at all), and it is not an `unsafe fn`.
    Retried,
    /// Returned `()` at the panic, as if the function had returned there:
    /// it returns nothing and cannot be retried (a Bevy system, a handler
    /// that answers through an argument).
    Returned,
    /// Ended in a panic whose payload is [`RolledBack`]: it returns a
    /// value and cannot be retried.
    Panicked,
}

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

/// Where a thunk is compiled: `Compiled::<{ cfg!(hotreload_build) }>`
/// (direct hot builds pass `--cfg hotreload_build`). A constant, so that a
/// reloaded build does not even contain the program's half of [`guard`]
/// (with its thread-locals, whose destructors would pin the build; see
/// the runtime's `generations`), optimized or not.
#[doc(hidden)]
pub struct Compiled<const RELOADED: bool>;

/// What a hot function's thunk runs its body under: [`guard_reloaded`] in
/// a reloaded build, [`guard_program`] in the program's own.
#[doc(hidden)]
#[inline(always)]
pub fn guard<const RELOADED: bool, R>(
    entry: &'static Entry,
    _: Compiled<RELOADED>,
    body: impl FnOnce() -> R,
) -> R {
    if RELOADED {
        guard_reloaded(entry.slot.original(), entry.path, body)
    } else {
        guard_program(entry.path, body)
    }
}

/// Runs the body closure `$body` under `$guard`, a guard that takes it as
/// `&mut dyn FnMut()`, and evaluates to what the body returned. A macro,
/// not a generic function taking the guard as a closure: written out in
/// place it adds one closure per hot function, where a generic guard (and
/// the `catch_unwind` in it) was a chain of functions per hot function to
/// compile, all in the one codegen unit every full build of a library with
/// hundreds of hot functions generated again.
macro_rules! through_dyn {
    ($body:expr, |$dyn_body:ident| $guard:expr) => {{
        let mut body = Some($body);
        let mut result = None;
        let $dyn_body: &mut dyn FnMut() = &mut || {
            if let Some(body) = body.take() {
                result = Some(body());
            }
        };
        $guard;
        match result {
            Some(result) => result,
            // The guards return only when the body did.
            None => unreachable!("a guard returned without running the body"),
        }
    }};
}

/// Calls the function in `slot` through `call` (the trampoline's
/// arguments, reborrowed); if new code panicked and was rolled back, calls
/// once more with the restored code.
///
/// In a reloaded build (`Compiled<true>`), through [`retry_dyn`]: one
/// instance of `catch_unwind` for every hot function instead of one each
/// (see `through_dyn!`); the program's own calls keep it inlined.
///
/// # Safety
/// `F` must be the function pointer type of the slot's functions.
#[doc(hidden)]
#[inline(always)]
pub unsafe fn call_retrying<const RELOADED: bool, F: Copy, R>(
    slot: &Slot,
    _: Compiled<RELOADED>,
    mut call: impl FnMut(F) -> R,
) -> R {
    if RELOADED {
        let mut result = None;
        // SAFETY: the caller's.
        retry_dyn(&mut || result = Some(call(unsafe { slot.load() })));
        return match result {
            Some(result) => result,
            None => unreachable!("a call returned without a result"),
        };
    }
    // SAFETY (both loads): the caller's.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        call(unsafe { slot.load() })
    })) {
        Ok(value) => value,
        Err(payload) => {
            resume_unless_rolled_back(payload);
            call(unsafe { slot.load() })
        }
    }
}

/// [`call_retrying`] in a reloaded build, one instance for every hot function.
#[inline(never)]
fn retry_dyn(attempt: &mut dyn FnMut()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut *attempt)) {
        resume_unless_rolled_back(payload);
        attempt();
    }
}

/// Calls the function in `slot` through `call` (the trampoline's
/// arguments, moved in); if new code panicked and was rolled back, returns
/// as if it had returned at the panic ([`PanickedCall::Returned`]).
///
/// # Safety
/// `F` must be the function pointer type of the slot's functions.
#[doc(hidden)]
#[inline(always)]
pub unsafe fn call_returning<const RELOADED: bool, F: Copy>(
    slot: &Slot,
    _: Compiled<RELOADED>,
    call: impl FnOnce(F),
) {
    let result = if RELOADED {
        let mut call = Some(call);
        // SAFETY: the caller's.
        return_dyn(&mut || {
            if let Some(call) = call.take() {
                call(unsafe { slot.load() })
            }
        })
    } else {
        // SAFETY: the caller's.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            call(unsafe { slot.load() })
        }))
    };
    if let Err(payload) = result {
        resume_unless_rolled_back(payload);
    }
}

/// [`call_returning`]'s call in a reloaded build, one instance for every
/// hot function.
#[inline(never)]
fn return_dyn(call: &mut dyn FnMut()) -> std::thread::Result<()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call))
}

/// [`call_retrying`] for a hot `async fn`: `call` makes its future; if
/// new code panicked in a poll and was rolled back, the call starts over
/// with the restored code (what the first attempt did stays done).
///
/// # Safety
/// `F` must be the function pointer type of the slot's functions.
#[doc(hidden)]
pub async unsafe fn call_retrying_future<F: Copy, Fut: std::future::Future>(
    slot: &Slot,
    mut call: impl FnMut(F) -> Fut,
) -> Fut::Output {
    // SAFETY (both loads): the caller's.
    match CatchUnwind(call(unsafe { slot.load() })).await {
        Ok(value) => value,
        Err(payload) => {
            resume_unless_rolled_back(payload);
            call(unsafe { slot.load() }).await
        }
    }
}

/// [`call_returning`] for a hot `async fn` that returns nothing.
///
/// # Safety
/// `F` must be the function pointer type of the slot's functions.
#[doc(hidden)]
pub async unsafe fn call_returning_future<F: Copy, Fut: std::future::Future<Output = ()>>(
    slot: &Slot,
    call: impl FnOnce(F) -> Fut,
) {
    // SAFETY: the caller's.
    if let Err(payload) = CatchUnwind(call(unsafe { slot.load() })).await {
        resume_unless_rolled_back(payload);
    }
}

/// A future whose panics in `poll` end it with the payload.
struct CatchUnwind<F>(F);

impl<F: std::future::Future> std::future::Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        // SAFETY: structural pinning: the field is never moved out.
        let future = unsafe { self.map_unchecked_mut(|this| &mut this.0) };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.poll(cx))) {
            Ok(poll) => poll.map(Ok),
            Err(payload) => std::task::Poll::Ready(Err(payload)),
        }
    }
}

/// Runs a hot function's body (what its thunk calls) in the program's own
/// build, handing a panic in it on as the module docs say. Until reloaded
/// code ever ran, just the body.
#[doc(hidden)]
#[inline(always)]
pub fn guard_program<R>(path: &'static str, body: impl FnOnce() -> R) -> R {
    if !RELOADED_RAN.load(Ordering::Relaxed) {
        return body();
    }
    through_dyn!(body, |body| guard_host(path, body))
}

/// [`guard_program`] in a reloaded build. `implementation` is the thunk
/// (what slots hold), `path` the function's registry path.
#[doc(hidden)]
#[inline(always)]
pub fn guard_reloaded<R>(
    implementation: *const (),
    path: &'static str,
    body: impl FnOnce() -> R,
) -> R {
    through_dyn!(body, |body| guard_reloaded_dyn(implementation, path, body))
}

/// [`guard_reloaded`], one instance for every hot function.
#[inline(never)]
fn guard_reloaded_dyn(implementation: *const (), path: &'static str, body: &mut dyn FnMut()) {
    // The host links its hooks before any of this build's code runs as
    // hot code.
    let Some(hooks) = HOST_HOOKS.get() else {
        return body();
    };
    // Counted out when this frame ends, returning or unwinding: a panic
    // handed over below still runs this build's code (and may wait for the
    // host's lock that unloading holds).
    let _counted = Counted(CALLS.enter());
    let in_reloaded = (hooks.enter)(raise_here);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    (hooks.leave)();
    match result {
        Ok(value) => value,
        Err(payload) => hand_over(hooks, in_reloaded, implementation, path, payload),
    }
}

/// A call counted in [`CALLS`] while it lives.
struct Counted(bool);

impl Drop for Counted {
    fn drop(&mut self) {
        CALLS.leave(self.0);
    }
}

/// [`guard_program`] once reloaded code ran: an ordinary call, unless
/// reloaded code called it, whose `std` must get its panic.
#[inline(never)]
fn guard_host(path: &'static str, body: &mut dyn FnMut()) {
    if DEPTH.with(std::cell::Cell::get) == 0 {
        return body();
    }
    let around = FRAMES.with(|frames| frames.borrow().last().copied());
    let Some(Frame::Reloaded(raise)) = around else {
        return body();
    };
    enter(Frame::Host);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    leave();
    match result {
        Ok(value) => value,
        Err(payload) => {
            let message = payload_message(payload.as_ref());
            drop(payload);
            raise(Reported {
                function: path.to_string(),
                message,
                rolled_back: false,
            })
        }
    }
}

/// A panic caught by a guard of reloaded code: on in this `std`,
/// reported, if reloaded code is around it (`in_reloaded`), else to the
/// host, which raises it in its own.
#[cold]
fn hand_over(
    hooks: &HostHooks,
    in_reloaded: bool,
    implementation: *const (),
    path: &'static str,
    payload: Box<dyn Any + Send>,
) -> ! {
    let reported = match payload.downcast::<Reported>() {
        Ok(reported) => *reported,
        Err(payload) => {
            let message = payload_message(payload.as_ref());
            // The payload belongs to this build's std; only its text
            // crosses over.
            drop(payload);
            if !in_reloaded {
                (hooks.on_panic)(implementation, path, &message)
            }
            let rolled_back = (hooks.on_nested_panic)(implementation, path, &message);
            Reported {
                function: path.to_string(),
                message,
                rolled_back,
            }
        }
    };
    if !in_reloaded {
        (hooks.raise_reported)(&reported)
    }
    std::panic::resume_unwind(Box::new(reported))
}

/// The future of a hot `async fn`'s body, boxed for its thunk to return,
/// with each poll guarded as a call is (`RELOADED`: in a reloaded build).
#[doc(hidden)]
pub fn guard_future<const RELOADED: bool, F: std::future::Future>(
    entry: &'static Entry,
    _: Compiled<RELOADED>,
    future: F,
) -> std::pin::Pin<Box<Guarded<F, RELOADED>>> {
    Box::pin(Guarded {
        future: std::mem::ManuallyDrop::new(future),
        implementation: entry.slot.original() as usize,
        path: entry.path,
        // A future of a reloaded build keeps its code in use until dropped.
        counted: RELOADED && CALLS.enter(),
    })
}

/// The future of a hot `async fn`'s body, called directly by the
/// program's trampoline while the function runs the code the program was
/// built with: guarded as [`guard_future`] guards the program's, in place
/// (no allocation).
#[doc(hidden)]
#[inline(always)]
pub fn guard_in_place<F: std::future::Future>(path: &'static str, future: F) -> Guarded<F, false> {
    Guarded {
        future: std::mem::ManuallyDrop::new(future),
        implementation: 0,
        path,
        counted: false,
    }
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
pub struct Guarded<F, const RELOADED: bool> {
    future: std::mem::ManuallyDrop<F>,
    /// The thunk's address (a `usize`, so the future is `Send` when `F` is).
    implementation: usize,
    path: &'static str,
    /// Counted in [`CALLS`] until dropped.
    counted: bool,
}

impl<F, const RELOADED: bool> Drop for Guarded<F, RELOADED> {
    fn drop(&mut self) {
        // SAFETY: dropped once, here, in place (as pinning requires), and
        // never used again.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.future) };
        // After the future's drop glue, which is this build's code too.
        CALLS.leave(self.counted);
    }
}

impl<F: std::future::Future, const RELOADED: bool> std::future::Future for Guarded<F, RELOADED> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        // SAFETY: structural pinning of `future`: it is never moved out of
        // `Guarded` (no method hands it out by value, `Guarded`'s `Drop`
        // drops it in place), and `Guarded` is `Unpin` only if `F` is.
        let (future, implementation, path) = unsafe {
            let this = self.get_unchecked_mut();
            (
                std::pin::Pin::new_unchecked(&mut *this.future),
                this.implementation,
                this.path,
            )
        };
        if RELOADED {
            guard_reloaded(implementation as *const (), path, || future.poll(cx))
        } else {
            guard_program(path, || future.poll(cx))
        }
    }
}

/// Called by a trampoline whose call panicked: returns if the function was
/// rolled back (the caller retries), otherwise continues the panic. In the
/// host that is a [`RolledBack`], in reloaded code a [`Reported`] one.
#[doc(hidden)]
#[cold]
pub fn resume_unless_rolled_back(payload: Box<dyn Any + Send>) {
    let rolled_back = payload.is::<RolledBack>()
        || payload
            .downcast_ref::<Reported>()
            .is_some_and(|reported| reported.rolled_back);
    if !rolled_back {
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
