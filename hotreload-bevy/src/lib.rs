//! Hot reloading for Bevy apps: edit a system — its body, its parameters,
//! which systems there are — save, and the running app runs the new code
//! from the next frame, with its world kept.
//!
//! ```no_run
//! use bevy_app::{App, Update};
//! use bevy_ecs::prelude::*;
//! use hotreload_bevy::{AddHotSystems, HotReloadPlugin, HotSystems};
//! use hotreload_runtime::hot;
//!
//! #[derive(Component)]
//! struct Position(f32);
//!
//! /// Which systems there are: edit it to add or remove one.
//! #[hot]
//! fn systems(hot: &mut HotSystems) {
//!     hot.add_systems(Update, step);
//! }
//!
//! /// Edit its body, or give it other parameters (`Res<Time>`, a second
//! /// `Query`, `Local`, `Commands`, `MessageReader`...).
//! #[hot]
//! fn step(mut positions: Query<&mut Position>) {
//!     for mut position in &mut positions {
//!         position.0 += 1.0;
//!     }
//! }
//!
//! // In `main.rs`; the functions above are in the library (`src/lib.rs`).
//! App::new()
//!     .add_plugins((
//!         // A loop of frames (the full `bevy` crate's `MinimalPlugins` has it).
//!         bevy_app::ScheduleRunnerPlugin::run_loop(std::time::Duration::from_millis(16)),
//!         HotReloadPlugin,
//!     ))
//!     .add_hot_systems(systems)
//!     .run();
//! ```
//!
//! The hot functions go in a library target (the package's `src/lib.rs`,
//! or a workspace member the binary depends on): only a library is
//! rebuilt and reloaded. Depend on `hotreload-bevy` and
//! `hotreload-runtime` (for `#[hot]`), and
//! turn on the `reload` feature of both in dev builds (see the
//! `hotreload-runtime` docs: a `dev` feature of your package that turns on
//! `hotreload-bevy/reload`, which turns on the runtime's). Without it,
//! [`HotReloadPlugin`] does nothing and [`AddHotSystems::add_hot_systems`]
//! adds the systems as `add_systems` does: nothing is left in a release
//! build.
//!
//! # What reloads
//!
//! - **A body** of a `#[hot]` system: the next frame runs it. The system
//!   keeps its `Local`s, its change ticks and its message cursors.
//! - **A system's parameters**, when it is added by a registration
//!   function (`#[hot] fn systems(hot: &mut HotSystems)`, given to
//!   `add_hot_systems`): at the safe point the system is made anew from
//!   the new build, with its new parameters, in the place the registration
//!   gives it (schedule, ordering, sets, run conditions). Its own `Local`s
//!   start fresh (they are of other types now); every other system keeps
//!   its state.
//! - **Systems added or removed** in a registration function: an added
//!   one runs from the next frame, a removed one stops.
//! - **Ordering and run conditions** given in a registration function:
//!   as the newest registration gives them.
//! - **Startup systems** added with [`HotSystems::rerun_on_edit`] run
//!   again after an edit of their code; what they spawned before stays
//!   (despawn it first in the system if it should be replaced). Those added
//!   with `add_systems` run once.
//!
//! The safe point is a schedule of this plugin after `Last`: no system
//! runs while new code is swapped in and the hot schedules are made.
//! After each reload the app gets a [`HotReloaded`] message saying what
//! changed, and the reloader's report line goes to Bevy's log (`tracing`)
//! when a subscriber is set (`LogPlugin`), to stderr otherwise.
//!
//! # What is refused
//!
//! Everything `hotreload-runtime` refuses, with its codes. And: a change
//! to the definition of a type the world holds — a component, a resource,
//! a message — is refused (HOT011) naming the type, since the world keeps
//! its values in the old definition. Undo it, or restart.
//!
//! A panic in a hot system never ends the app: the body is rolled back to
//! the code before it, or, for a system made anew (new parameters, or
//! new), the system it replaced is put back (a new one is left out) until
//! its code changes again (HOT040).
//!
//! # Where the hot systems run
//!
//! With `reload` on, the hot systems of a schedule (say `Update`) run
//! together, in parallel with each other, at one point of it: an exclusive
//! system in [`HotSystemsSet`], which runs `HotSchedule(Update)`. Order
//! them among themselves in the registration, and the block with
//! `app.configure_sets(Update, HotSystemsSet.after(...))`. Without
//! `reload` they are plain systems of `Update`. Hot systems can be in any
//! schedule the `Main` schedule runs.
//!
//! Systems are told apart by name (the function's path) and type (which
//! includes its parameters); with `reload` on this crate turns on
//! `bevy_utils/debug`, which keeps system names. A system that is not
//! `#[hot]` keeps the code it was made with while its parameters stay.
//!
//! Not supported: Bevy's own `hotpatching` feature at the same time (it
//! changes the `System` trait), systems of the render sub-app (which runs
//! in parallel with the next frame: no safe point covers it).

#[cfg(feature = "reload")]
mod remake;
#[cfg(feature = "reload")]
mod shared;

#[cfg(not(feature = "reload"))]
use {
    bevy_app::{App, Plugin},
    bevy_ecs::schedule::IntoScheduleConfigs,
};

/// Defined in `hotreload-bevy-core`, which hot builds link in place of
/// this crate (see its docs).
pub use hotreload_bevy_core::{HotReloaded, HotSystems, HotSystemsSet};
#[cfg(feature = "reload")]
pub use remake::HotSchedule;

/// Starts hot reload and applies reloads at a safe point of every frame
/// (see the [crate docs](crate)). Without the `reload` feature it adds
/// only the [`HotReloaded`] message.
#[derive(Default)]
pub struct HotReloadPlugin;

/// [`App::add_hot_systems`](AddHotSystems::add_hot_systems).
pub trait AddHotSystems {
    /// Adds the systems `register` adds, and, after every reload, makes
    /// them again from `register`'s new code: mark it `#[hot]`.
    fn add_hot_systems(&mut self, register: fn(&mut HotSystems)) -> &mut Self;
}

#[cfg(feature = "reload")]
mod plugin;

#[cfg(not(feature = "reload"))]
impl Plugin for HotReloadPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<HotReloaded>();
    }
}

#[cfg(not(feature = "reload"))]
impl AddHotSystems for App {
    fn add_hot_systems(&mut self, register: fn(&mut HotSystems)) -> &mut Self {
        let mut hot = HotSystems::default();
        register(&mut hot);
        for added in hot.into_added() {
            self.add_systems(added.label, added.configs.in_set(HotSystemsSet));
        }
        self
    }
}
