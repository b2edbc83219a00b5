//! Change a Rust function while the program runs, save, and a fraction of
//! a second later the running program calls the new code. The game world,
//! the simulation state, the open sockets of a server stay as they were.
//! Nothing but cargo: no CLI, no linker setup, no `crate-type` change. With
//! the `reload` feature off, the marks cost nothing.
//!
//! Linux (x86-64, glibc) for now. The repository's README is the long form
//! of this guide, with the measurements behind each number.
//!
//! # Quick start
//!
//! 1. Put the functions to edit in a library target (the package's
//!    `src/lib.rs`, or a workspace member the binary depends on), and add
//!    the dependency, with the `reload` feature where you want reloading
//!    (or behind a feature of your own, `dev = ["hotreload-runtime/reload"]`,
//!    off for release):
//!
//!    ```toml
//!    [dependencies]
//!    hotreload-runtime = { version = "0.1", features = ["reload"] }
//!    ```
//!
//! 2. Mark them with [`#[hot]`](hot):
//!
//!    ```
//!    use hotreload_runtime::hot;
//!
//!    # #[derive(Default)] pub struct World { pub time: f32 }
//!    #[hot]
//!    pub fn step(world: &mut World, dt: f32) {
//!        world.time += dt; // edit me while it runs
//!    }
//!
//!    pub struct Player { pub hp: i32 }
//!
//!    #[hot]
//!    impl Player {
//!        pub fn damage(&self) -> i32 { 7 }
//!    }
//!    # fn main() { let mut w = World::default(); step(&mut w, 1.0); assert_eq!(Player { hp: 1 }.damage(), 7); }
//!    ```
//!
//! 3. Start the reloader once, and call [`Reloader::update`] where no hot
//!    function is running (between frames, between requests):
//!
//!    ```no_run
//!    # use hotreload_runtime::hot;
//!    # #[derive(Default)] pub struct World;
//!    # #[hot] pub fn step(world: &mut World, dt: f32) {}
//!    fn main() {
//!        let mut hot = hotreload_runtime::Reloader::start().expect("hot reload");
//!        let mut world = World::default();
//!        loop {
//!            step(&mut world, 1.0 / 60.0);
//!            hot.update(); // the safe point: new code takes effect here
//!        }
//!    }
//!    ```
//!
//! 4. `cargo run`, edit a hot function, save. Once the start-up build is
//!    done, stderr says so, then one line per reload:
//!
//!    ```text
//!    [hotreload] ready: watching mygame (3 hot functions), start-up build 674 ms
//!    [hotreload] reloaded step (generation 1) in 118 ms, build 109 ms
//!    ```
//!
//! # The safe point
//!
//! A build is made, loaded and checked on the reloader's own thread; it
//! goes live only at the safe point: in [`Reloader::update`] (one atomic
//! load when nothing is waiting), which returns what happened as an
//! [`Update`]. A program without a loop of its own (a server whose
//! handlers run on many threads) lets the reloader apply builds on its own
//! thread instead, with [`Reloader::in_background`].
//!
//! A Bevy app uses the `hotreload-bevy` crate instead: its
//! `HotReloadPlugin` places the safe point after `Last`, and its hot
//! registrations let a system's parameters change, and systems come and
//! go, while the app runs.
//!
//! A call that starts after the swap runs the new code. A call already
//! running finishes its own body in the build it started in; the hot
//! functions it calls from then on are the new ones. Each call's result
//! comes from one build.
//!
//! [`Reloader::before_reload`] runs code just before a swap (rebuild a
//! cache, re-upload a shader); [`Update::Reloaded`] says what changed after
//! it.
//!
//! # What can be hot
//!
//! - Free functions, of any visibility, with any arguments and return type.
//! - Every method of an inherent `impl` block marked `#[hot]`, and every
//!   method of a trait `impl` block (`impl Display for Version`), also
//!   generic over lifetimes. A method that cannot be hot in such a block (a
//!   `const fn`, a generic method, `impl Trait` in its signature, an
//!   `extern` ABI) stays as written.
//! - `async fn`, free or in an impl: a call that starts after a reload runs
//!   the new code. Its future is `Send`; write `#[hot(?Send)]` for one
//!   that is not.
//! - `#[hot] static`: one instance, the program's, used by every build (an
//!   ordinary static in reloaded code is a fresh copy in each build). Its
//!   type needs interior mutability to change (atomics, `Mutex`).
//!
//! Refused at compile time, each with an error on your code that says what
//! to do: generic functions, `impl Trait` in a signature, `extern` ABIs, a
//! `const fn` marked on its own, lifetime bounds and `where` clauses, impl
//! blocks generic over types or constants, `unsafe impl`, `static mut`.
//!
//! `#[hot]` does not change what valid code means: lints, type inference,
//! doc comments, `#[inline]`, `#[cfg]` and `#[track_caller]` keep their
//! effect. Only libraries are rebuilt: `main` and other code of binary
//! targets keep the code they were built with, and a hot function added
//! while the program runs is used after a restart.
//!
//! # What a save costs
//!
//! | The save changed | What happens |
//! | --- | --- |
//! | only bodies of hot functions | a quick build: those bodies and what they name |
//! | anything else in `src/` | a full build of the library |
//! | `Cargo.toml`, `build.rs` | cargo, then a full build |
//! | a hot function's signature, or a type a hot signature reaches | refused: the old code runs on (or a restart with the state, below) |
//! | code that does not compile | nothing changes; the compiler's errors are shown |
//! | code that panics | the call is rolled back to the code before it |
//!
//! A save while a build runs makes that build stale; the last save always
//! wins.
//!
//! # Refusals and codes
//!
//! A build that cannot be taken is refused, and the program runs on with
//! the last good code: [`Update::Failed`] holds an [`Error`] whose
//! [`code`](Error::code) is stable. A generation is all or nothing: if one
//! function is refused, none is swapped.
//!
//! | Code | What happened | What to do |
//! | --- | --- | --- |
//! | HOT001 | the build failed; the compiler's errors follow | fix and save again |
//! | HOT002 | cargo cannot be started | install cargo or set `CARGO` |
//! | HOT003 | the program is not in a cargo target directory | start it with `cargo run` |
//! | HOT004, HOT007 | a directory cannot be watched, or the watcher cannot start | check the path and the inotify limits |
//! | HOT005 | builds cannot be staged (no temporary directory) | check `TMPDIR` |
//! | HOT006 | the package has no library (a binary only), or cargo reported none | move the hot functions into `src/lib.rs` |
//! | HOT008 | a thread of the reloader cannot be started | out of threads or memory |
//! | HOT009 | the rustc command cargo ran cannot be run again | restart the program |
//! | HOT010 | a hot function's signature changed (old and new shown) | undo, or restart |
//! | HOT011 | the layout of a type a hot signature reaches changed (named) | undo, or restart |
//! | HOT012 | a hot function is gone from the sources: it keeps its old code | restart to drop it |
//! | HOT013 | two hot functions have one path: they keep their code | rename one |
//! | HOT014 | the type of a `#[hot] static` changed | undo, or restart |
//! | HOT015 | the hot build's crate identity differs from the program's (other features or flags) | build the program with the package's default features |
//! | HOT016 | a save changed only a binary's sources, which no build reloads | restart to run it |
//! | HOT020 | the new build cannot be loaded (dlopen's message) | see the message |
//! | HOT021 | the new build has no manifest | keep a `#[hot]` in the package |
//! | HOT022 | the file to load is another user's, or others can write it | check who writes the target directory |
//! | HOT023 | the built file is truncated or not a library for this platform | save again |
//! | HOT024 | the build process could not be waited for | save again |
//! | HOT030 | another compiler, target or profile made the new build | restart |
//! | HOT031 | the program's `#[global_allocator]` is not the system allocator | use the default allocator while reloading |
//! | HOT040 | reloaded code panicked; the function was rolled back | fix and save again |
//! | HOT050 | a restart with the state cannot be made (the field that does not fit is named) | convert the field, undo, or restart by hand |
//! | HOT060 | a pushed upgrade is not a well-formed upgrade file | make it again, push the whole file |
//! | HOT061 | a pushed upgrade is not signed by a trusted key, or was changed after | sign with a trusted key |
//! | HOT062 | a pushed upgrade was made for another binary | make it with the binary that runs |
//! | HOT063 | a pushed upgrade's number is not above the last one taken | number it above; `rollback` to go back |
//! | HOT064 | a rollback with no upgrade left to take back | none |
//! | HOT065 | the upgrade socket cannot be made, a key is not valid, or another user connected | see the message |
//!
//! An error from [`Reloader::start`] comes before the program has any
//! state. To run on without reloading instead of stopping:
//!
//! ```no_run
//! use hotreload_runtime::Reloader;
//!
//! let mut hot = Reloader::start().unwrap_or_else(|error| {
//!     eprintln!("no hot reload: {error}");
//!     Reloader::off()
//! });
//! ```
//!
//! # Panics in reloaded code
//!
//! A panic in reloaded code is caught where it starts and handed to the
//! program. By default ([`OnPanic::Rollback`]) the function goes back to
//! the code it ran before and `update()` returns [`Update::Panicked`]
//! (HOT040). The call that panicked ([`PanickedCall`], by its signature):
//!
//! - is **retried** once with the restored code when its arguments can be
//!   passed again (references, `&mut` state, numbers, `bool`, `char`), the
//!   result does not borrow from a `&mut` argument and it is not an
//!   `unsafe fn` (an `async fn` starts over: a request in flight gets the
//!   old code's answer);
//! - else **returns** at the panic if it returns nothing (a Bevy system, a
//!   game's update);
//! - else ends in a panic whose payload is [`RolledBack`]; HOT040 is
//!   printed when the panic happens, before it can end the program.
//!
//! What the call changed before it panicked stays changed.
//! [`OnPanic::Propagate`] lets the panic go on instead.
//!
//! # A changed state type
//!
//! A reload cannot take an edit to a type the running program holds (its
//! data is in the old layout). A program that keeps its state in one value
//! can have the reloader restart it with that state moved into the new
//! type instead: [`Reloader::take_state`] first thing in `main`, and
//! [`Reloader::update_with`] at the safe point (or, for a program that
//! applies reloads [in the background](Reloader::in_background), its state
//! shared through an `Arc` given to [`Reloader::keep_state`]).
//!
//! ```no_run
//! #[derive(serde::Serialize, serde::Deserialize)]
//! pub struct World {
//!     pub cells: Vec<bool>,
//!     pub generation: u64,
//! }
//!
//! fn main() {
//!     let mut hot = hotreload_runtime::Reloader::start().expect("hot reload");
//!     // After a restart, the world as it was, in the new type.
//!     let mut world = hot.take_state().unwrap_or_else(|| World {
//!         cells: vec![false; 64],
//!         generation: 0,
//!     });
//!     loop {
//!         world.generation += 1;
//!         hot.update_with(&world);
//!     }
//! }
//! ```
//!
//! On a refusal (HOT010, HOT011, HOT014), the binary is built from the new
//! sources in the background; at the next `update_with` the state is
//! serialized by the old code, checked against the new binary, and the
//! process `exec`s it with the state. Fields that remain keep their values,
//! new ones take their `#[serde(default)]`; a state that does not fit is
//! refused (HOT050) and nothing changes. Everything else starts over: `main`
//! runs from the top. [`listener`] keeps a listening socket across it.
//!
//! # Values kept by type
//!
//! A type no hot signature reaches may change in a reload, but the values
//! of it the program already holds keep the old definition. Where the
//! program keeps them by `TypeId` (an ECS world such as `hecs`, a
//! `Box<dyn Any>`), new code does not find them when a field was added,
//! removed or renamed (a new `TypeId`), and reads them with the wrong
//! layout when only a field's type changed (the same `TypeId`: the compiler
//! hashes fields' names, not their types). The reload line says which
//! ([`Reload::same_type_id`]). Name such types and a build that changes one
//! is refused (HOT011):
//!
//! ```no_run
//! # fn main() -> Result<(), hotreload_runtime::Error> {
//! let hot = hotreload_runtime::Reloader::start()?;
//! hot.hold_types(["Pos", "Vel"]);
//! # Ok(()) }
//! ```
//!
//! # Upgrading a service
//!
//! A program deployed without cargo, toolchain or sources (a binary that is
//! not in a cargo target directory) builds nothing: [`Reloader::start`]
//! watches nothing there, and new code comes as *upgrades*, made where the
//! binary was built by `cargo hotreload upgrade` (the `cargo-hotreload`
//! crate) and pushed to the program's Unix socket:
//!
//! ```no_run
//! # use hotreload_runtime::{Reloader, Upgrades};
//! # fn main() -> Result<(), hotreload_runtime::Error> {
//! let _hot = Reloader::start()?
//!     .accept_upgrades(Upgrades::unix_socket("/run/my-service/upgrades.sock").trust(
//!         "1c0f...", // the `.pub` file `cargo hotreload keygen` wrote
//!     ))?
//!     .in_background();
//! # Ok(()) }
//! ```
//!
//! An upgrade is signed (ed25519), made for one binary (its build id),
//! numbered, and checked in full before anything in it is loaded
//! (HOT060-HOT063); then each build is verified and applied as any reload.
//! `cargo hotreload rollback` takes the newest one back. The file format
//! and its checks: [`upgrade`]. The operator's side, the release profile
//! and the security model: the README's *Upgrading a service*.
//!
//! # Features
//!
//! - `reload`: the machinery. Off, `#[hot]` leaves items as written and
//!   [`Reloader`] does nothing, with the same API.
//! - `log`, `tracing`: records and events of reloaded code reach the
//!   program's logger and subscriber where reloaded code does not run on
//!   the program's own copy of them (see the README's *One copy*).
//!
//! Environment: `HOTRELOAD=0` turns reloading off for one run.
//!
//! # Safety
//!
//! The reloader swaps code only where it checked that the new code agrees
//! with the running program: the same signature, the same layout of every
//! type a hot signature reaches (a deep check with
//! [`#[derive(Layout)]`](derive@Layout), else name, size and alignment plus
//! the type's definition in the package's sources), the same compiler,
//! target and profile, the same crate identity. Builds are never unloaded
//! by default, so nothing the new code hands out can dangle.
//!
//! The one exception is opt-in and `unsafe`: [`Reloader::unload_old_builds`]
//! unmaps builds that no function runs any more, for programs that take
//! reloads for days. Its `# Safety` section says what the program must
//! keep nothing of (function pointers, trait objects, `&'static` data that
//! a build handed out).
//!
//! # Known problems
//!
//! - Only libraries are reloaded; `main` and binary targets are not.
//! - Statics of the package's own crate and of path dependencies are fresh
//!   in each build; use `#[hot] static` for state that must survive.
//! - A type of a path dependency without `#[derive(Layout)]` whose fields
//!   change but not its name, size or alignment is not caught: derive
//!   `Layout` on types that hot functions take from path dependencies.
//! - Packages are built with their default features plus `reload`; a
//!   program built with other features of a hot package is refused
//!   (HOT015) rather than reloaded wrongly.
//! - After a reload, `#[track_caller]` functions report the reloader's
//!   location, not the caller's.
//! - Files on network file systems, and some containers, deliver no
//!   inotify events: edits are not seen there.
//! - By default each reload keeps its build loaded: about 50 KB for a small
//!   library, and one open file descriptor.
//! - Linux only (ELF, `dlopen`, inotify).

// Modules, for maintainers (the README's *Layout of this repository* is
// the long form). One save, one module or folder per stage, in order:
// `watch` -> `build` (with what it works from: `package`, `config`,
// `rustc`, `cargo_json`, `dylib`, `published`; and `quick`, quick builds
// and their `prune`d sources) -> `stage` (with `one_copy`, the program's own
// symbols) -> `load` -> `verify` (with `types`, the type definitions) ->
// `apply` (with `arm`, a verified build pointed at the program, and
// `generations`, the builds kept loaded) -> `report`. `reloader` drives
// them (`pipeline`, `delivery`, `hooks`, `background`); `sources` is what
// quick builds and the type check start from; `generation` is the type
// `Reloader::generations` returns; `restart` is the way through
// an edit no reload can take; `allocator` is checked once at start.

#![warn(missing_docs)]
// The guide's examples show `main`: where `start()` and `update()` go is
// what they teach.
#![allow(clippy::needless_doctest_main)]

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

// One save, in order: the stages, each a module (a folder holds what only
// its stage uses).
#[cfg(feature = "reload")]
mod watch;
#[cfg(feature = "reload")]
mod build;
#[cfg(feature = "reload")]
mod stage;
#[cfg(feature = "reload")]
mod load;
#[cfg(feature = "reload")]
mod verify;
#[cfg(feature = "reload")]
mod apply;
#[cfg_attr(not(feature = "reload"), allow(dead_code))]
mod report;
// What drives them, and what they share.
#[cfg(feature = "reload")]
mod reloader;
pub mod upgrade;
#[cfg(feature = "reload")]
mod sources;
mod generation;
// When a build cannot be taken; once at start.
#[cfg(feature = "reload")]
mod restart;
#[cfg(feature = "reload")]
mod allocator;

pub use error::{Error, Refusal};
pub use generation::Generation;
pub use layout::{Layout, LayoutHasher};
pub use panic::{OnPanic, PanickedCall, RolledBack};
pub use report::{
    BeforeReload, HotPanic, OwnStatic, Ready, Reload, Restarting, Reverted, Timings, Update,
};
pub use upgrade::Upgrades;

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
