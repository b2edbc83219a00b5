//! [`Background`]: a reloader that applies builds on a thread of its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};

use super::hooks::lock;
use super::{PENDING, Reloader, WAKE, WAKE_LOCK, loaded_generations};
use crate::generation::Generation;
use crate::report::Update;

/// A [`Reloader`] applying each verified build as soon as it is ready, on
/// a thread of its own: for programs without a natural safe point (a
/// server, whose handlers run on many threads). A call that starts after a
/// swap runs the new code; calls already running finish on the code they
/// started with. Dropping it stops reloading.
pub struct Background {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reloader {
    /// Applies verified builds in the background (see [`Background`]);
    /// reports go to the default reporter unless turned off.
    pub fn in_background(self) -> Background {
        self.in_background_with(|_| {})
    }

    /// [`Reloader::in_background`], calling `on_update` with each update
    /// that is not `Idle` (after the default reporter, if on): to log it,
    /// or to show it in a program that owns the terminal.
    pub fn in_background_with(
        mut self,
        mut on_update: impl FnMut(&Update) + Send + 'static,
    ) -> Background {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("hotreload-apply".into())
            .spawn(move || {
                while !stopped.load(Ordering::Acquire) {
                    {
                        let mut woken = lock(&WAKE_LOCK);
                        while !PENDING.load(Ordering::Acquire) && !stopped.load(Ordering::Acquire) {
                            woken = WAKE.wait(woken).unwrap_or_else(PoisonError::into_inner);
                        }
                    }
                    loop {
                        match self.update() {
                            Update::Idle => break,
                            update => on_update(&update),
                        }
                    }
                }
            });
        match thread {
            Ok(thread) => Background {
                stop,
                thread: Some(thread),
            },
            Err(error) => {
                tracing::warn!("hot reload is off: cannot start its apply thread: {error}");
                Background { stop, thread: None }
            }
        }
    }
}

impl Background {
    /// As [`Reloader::generations`].
    pub fn generations(&self) -> Vec<Generation> {
        loaded_generations()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        {
            let _woken = lock(&WAKE_LOCK);
            WAKE.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
