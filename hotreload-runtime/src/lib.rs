//! Change a Rust function while the program runs, save, and the running
//! program calls the new code a fraction of a second later, with all its
//! state intact.
//!
//! ```ignore
//! use hotreload_runtime::hot;
//!
//! #[hot]
//! pub fn step(world: &mut World, dt: f32) { /* edit me while it runs */ }
//!
//! fn main() {
//!     let mut hot = hotreload_runtime::Reloader::start().expect("hot reload");
//!     let mut world = World::default();
//!     loop {
//!         step(&mut world, 1.0 / 60.0);
//!         hot.update(); // safe point: new code takes effect here
//!     }
//! }
//! ```
//!
//! Everything runs only with the `reload` feature; without it `#[hot]`
//! leaves items as written and [`Reloader`] does nothing.
//!
//! The pipeline, one module per stage: [`watch`] -> [`build`] -> [`stage`]
//! -> [`load`] -> [`verify`] -> [`apply`] -> [`report`]; [`reloader`] ties
//! them together, [`generations`] keeps the builds loaded (and unloads
//! old ones when asked). What the build stage works from: [`package`] (a package
//! with hot functions), [`config`] (how the running program was built),
//! [`rustc`] (the compiler command cargo ran, rerun directly), [`dylib`]
//! (the package's dependencies, linked once as a shared library),
//! [`cargo_json`] (what cargo and rustc print, and `cargo metadata`),
//! [`published`] (processes sharing a target directory take turns and
//! share each build), [`thin`] (which hot functions a quick build leaves
//! to the program). What verify works from besides the builds: [`types`]
//! (the package's type definitions, the program's and the newest). When a
//! build cannot be taken: [`restart`] (the program restarts into a new
//! binary with its state). Checked once at start: [`allocator`] (a custom
//! global allocator cannot be shared with reloaded code).

pub use hotreload_macros::{Layout, hot};

mod error;
#[cfg(all(feature = "reload", any(feature = "log", feature = "tracing")))]
use hotreload_core::forward;
pub use hotreload_core::layout;
use hotreload_core::panic;
#[cfg(feature = "reload")]
use hotreload_core::registry;
#[cfg(feature = "reload")]
use hotreload_core::state;

#[cfg(feature = "reload")]
mod allocator;
#[cfg(feature = "reload")]
mod apply;
#[cfg(feature = "reload")]
mod build;
#[cfg(feature = "reload")]
mod cargo_json;
#[cfg(feature = "reload")]
mod config;
#[cfg(feature = "reload")]
mod dylib;
#[cfg(feature = "reload")]
mod generations;
#[cfg(feature = "reload")]
mod load;
#[cfg(feature = "reload")]
mod package;
#[cfg(feature = "reload")]
mod program;
#[cfg(feature = "reload")]
mod prune;
#[cfg(feature = "reload")]
mod published;
#[cfg(feature = "reload")]
mod reloader;
#[cfg_attr(not(feature = "reload"), allow(dead_code))]
mod report;
#[cfg(feature = "reload")]
mod restart;
#[cfg(feature = "reload")]
mod rustc;
#[cfg(feature = "reload")]
mod stage;
#[cfg(feature = "reload")]
mod thin;
#[cfg(feature = "reload")]
mod types;
#[cfg(feature = "reload")]
mod verify;
#[cfg(feature = "reload")]
mod watch;

pub use error::{Error, Refusal};
pub use layout::{Layout, LayoutHasher};
pub use panic::{OnPanic, RolledBack};
pub use report::{BeforeReload, Generation, HotPanic, Ready, Reload, Timings, Update};

#[cfg(feature = "reload")]
pub use reloader::{Background, Reloader};

/// A TCP listener on `address` (`"127.0.0.1:3000"`) that survives a
/// restart with the state (see `Reloader::update_with`): the new program
/// gets the very socket the old one listened on, with the connections
/// waiting in it, when it asks for the same `address`. Without a restart
/// (or without the `reload` feature), `TcpListener::bind(address)`. For
/// tokio: `set_nonblocking(true)`, then `tokio::net::TcpListener::from_std`.
pub fn listener(address: &str) -> std::io::Result<std::net::TcpListener> {
    #[cfg(feature = "reload")]
    return restart::listener(address);
    #[cfg(not(feature = "reload"))]
    std::net::TcpListener::bind(address)
}

#[cfg(not(feature = "reload"))]
mod inert;
#[cfg(not(feature = "reload"))]
pub use inert::{Background, Reloader};

/// Used by the code `#[hot]` generates; not a public API. All of it comes
/// from the core crate, which hot builds name in place of this one.
#[doc(hidden)]
pub mod __private {
    pub use hotreload_core::__private::*;
}
