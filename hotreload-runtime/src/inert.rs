//! [`Reloader`] without the `reload` feature: same API, does nothing, costs
//! nothing.

use crate::{BeforeReload, Error, Generation, OnPanic, Update};

/// The hot-reload handle. This build has the `reload` feature off: `#[hot]`
/// functions are ordinary functions and nothing is watched or rebuilt.
pub struct Reloader(());

/// [`Reloader::in_background`]'s handle; inert without the `reload`
/// feature.
pub struct Background(());

impl Background {
    /// Always empty, as [`Reloader::generations`].
    pub fn generations(&self) -> Vec<Generation> {
        Vec::new()
    }
}

impl Reloader {
    /// Returns an inert handle. Run by `cargo hotreload upgrade`, says
    /// that this binary cannot take upgrades, and exits.
    pub fn start() -> Result<Reloader, Error> {
        if std::env::var_os("HOTRELOAD_MAKE_UPGRADE").is_some() {
            eprintln!(
                "[hotreload] this binary was built without the `reload` feature of \
                 hotreload-runtime: it cannot take upgrades"
            );
            std::process::exit(2);
        }
        Ok(Reloader::off())
    }

    /// An inert handle, as with `reload` on.
    pub fn off() -> Reloader {
        Reloader(())
    }

    /// Accepted for the same API as with `reload` on.
    pub fn report(self, _on: bool) -> Reloader {
        self
    }

    /// Accepted for the same API as with `reload` on (no code is ever
    /// reloaded, so it never matters).
    pub fn on_panic(self, policy: OnPanic) -> Reloader {
        crate::panic::set_policy(policy);
        self
    }

    /// Nothing restarts without `reload`: the state is not kept.
    pub fn keep_state<T>(self, _state: std::sync::Arc<T>) -> Reloader
    where
        T: serde::Serialize + Send + Sync + 'static,
    {
        self
    }

    /// Nothing restarts without `reload`: `hook` never runs.
    pub fn before_restart(self, _hook: impl FnMut() + Send + 'static) -> Reloader {
        self
    }

    /// Takes no upgrades: without `reload` there is nothing to load them
    /// into. Returns the handle as it is.
    pub fn accept_upgrades(self, _upgrades: crate::Upgrades) -> Result<Reloader, Error> {
        Ok(self)
    }

    /// Nothing to apply: an inert handle.
    pub fn in_background(self) -> Background {
        Background(())
    }

    /// Nothing to apply: `on_update` is never called.
    pub fn in_background_with(
        self,
        _on_update: impl FnMut(&Update) + Send + 'static,
    ) -> Background {
        Background(())
    }

    /// Accepted for the same API as with `reload` on: `hook` never runs.
    pub fn before_reload(self, _hook: impl FnMut(&BeforeReload) + Send + 'static) -> Reloader {
        self
    }

    /// Does nothing without `reload`.
    pub fn callers_remade<S: Into<String>>(&self, _paths: impl IntoIterator<Item = S>) {}

    /// Does nothing without `reload`.
    pub fn hold_types<S: Into<String>>(&self, _names: impl IntoIterator<Item = S>) {}

    /// Accepted for the same API as with `reload` on.
    pub fn count_calls(self) -> Reloader {
        self
    }

    /// Accepted for the same API as with `reload` on (nothing is loaded).
    ///
    /// # Safety
    ///
    /// Nothing to uphold without the `reload` feature; with it, see its
    /// documentation there: the program must keep nothing that hot code
    /// handed out past the call.
    pub unsafe fn unload_old_builds(self, _keep: usize) -> Reloader {
        self
    }

    /// Always empty: no code is ever loaded.
    pub fn generations(&self) -> Vec<Generation> {
        Vec::new()
    }

    /// Always `None`: nothing restarts without the `reload` feature.
    pub fn take_state<T: serde::de::DeserializeOwned>(&mut self) -> Option<T> {
        None
    }

    /// Always [`Update::Idle`].
    #[inline(always)]
    pub fn update_with<T: serde::Serialize>(&mut self, _state: &T) -> Update {
        Update::Idle
    }

    /// Always [`Update::Idle`].
    #[inline(always)]
    pub fn update(&mut self) -> Update {
        Update::Idle
    }
}
