//! The process-wide panic hooks: what every loaded build calls when its
//! code panics, on whichever thread (see `hotreload_core::panic`), and the
//! state they share with `update()`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::apply::Applied;
use crate::panic::{self, HostHooks, OnPanic, PanickedCall, Reported, RolledBack};
use crate::registry::ENTRIES;
use crate::report::HotPanic;

use super::set_pending;

/// What every hot function runs; shared with the panic hook, which rolls
/// functions back from whichever thread panicked.
pub static APPLIED: Mutex<Option<Applied>> = Mutex::new(None);

/// Panics in reloaded code, not yet reported by `update()`.
pub static PANICS: Mutex<Vec<HotPanic>> = Mutex::new(Vec::new());

/// Whether the default reporter is on ([`crate::Reloader::report`]): a
/// panic report is then printed when the panic happens, not at the next
/// `update()`. A call that cannot be retried ends in a panic in its
/// caller, which may end the program before any `update()`: a Bevy-less
/// game loop whose hot function returned a borrowing iterator exited with
/// only std's panic message, and no word that its code had been rolled
/// back, or why the call could not be made again.
pub static REPORT_NOW: AtomicBool = AtomicBool::new(true);

/// Installed into every loaded build.
pub static HOOKS: HostHooks = HostHooks {
    on_panic: on_hot_panic,
    on_nested_panic: record_hot_panic,
    raise_reported,
    enter: panic::enter_reloaded,
    leave: panic::leave_reloaded,
};

/// A poisoned lock still holds consistent data here (every update is a
/// single push, pop or store), so keep going.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Rolls `path` back (by the policy) after its code `implementation`
/// panicked, and queues the report for `update()`. Returns whether it was
/// rolled back.
fn record_hot_panic(implementation: *const (), path: &str, message: &str) -> bool {
    let rolled_back = panic::policy() == OnPanic::Rollback
        && lock(&APPLIED)
            .as_mut()
            .is_some_and(|applied| applied.roll_back(path, implementation));
    // Every trampoline of `path` does the same (it is decided by the
    // signature); the program's entry says what.
    let call = ENTRIES
        .iter()
        .find(|entry| entry.path == path)
        .map_or(PanickedCall::Panicked, |entry| entry.after_rollback);
    let report = HotPanic {
        function: path.to_string(),
        message: message.to_string(),
        rolled_back,
        call,
    };
    tracing::warn!("{report}");
    if REPORT_NOW.load(Ordering::Relaxed) {
        eprintln!("[hotreload] {report}");
    }
    lock(&PANICS).push(report);
    set_pending();
    rolled_back
}

/// The host side of a panic in reloaded code (see [`crate::panic`]).
fn on_hot_panic(implementation: *const (), path: &str, message: &str) -> ! {
    let rolled_back = record_hot_panic(implementation, path, message);
    raise_reported(&Reported {
        function: path.to_string(),
        message: message.to_string(),
        rolled_back,
    })
}

/// Raises a panic of reloaded code in the program's `std`: [`RolledBack`]
/// (the trampoline retries), or, not rolled back, its message like any
/// panic's.
fn raise_reported(reported: &Reported) -> ! {
    let panic = RolledBack {
        function: reported.function.clone(),
        message: reported.message.clone(),
    };
    if reported.rolled_back {
        std::panic::resume_unwind(Box::new(panic))
    }
    std::panic::resume_unwind(Box::new(panic.to_string()))
}

/// Wraps the program's panic hook so that it writes while holding the lock
/// on stderr, the lock `eprintln!` and the reporter take. std's default
/// hook writes to stderr without it, so a panic message (and its
/// backtrace) printed on a worker thread interleaved byte by byte with a
/// `[hotreload]` line printed at the same time: a server whose edit
/// panicked on eight requests at once printed its HOT040 cut in pieces.
/// The lock is reentrant, so a hook of the program's own that prints with
/// `eprintln!` still works. Installed once per process.
pub fn lock_stderr_for_panic_messages() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _whole_message = std::io::stderr().lock();
            previous(info)
        }));
    });
}
