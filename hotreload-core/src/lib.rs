//! The part of hotreload that is linked into every reloaded build: hot
//! function slots and their registry, the manifest a build exports, layout
//! fingerprints, and the panic hand-off to the program. Use it through
//! `hotreload-runtime`, which re-exports all of it.
//!
//! It is its own crate, with no dependency but `linkme`, to keep each
//! rebuild's link small. Built as a `cdylib`, a library links every crate
//! it reaches, and in a debug build generic code is shared between crates
//! (`-Z share-generics`): the two functions a `#[hot]` expansion calls used
//! to pull in, member by member, most of the runtime and of its watcher,
//! cargo and ELF dependencies (about 300 archive members; `lld
//! --why-extract` shows the chain). From here they reach only `std`.

//!
//! A hot build goes further: it compiles the user's library against this
//! crate in place of the runtime (`--extern hotreload_runtime=` this
//! crate), so the runtime's own dependencies are not in its link at all.
//! For that, the paths `#[hot]` and `#[derive(Layout)]` generate
//! (`hotreload_runtime::__private::...`, `hotreload_runtime::Layout`) all
//! resolve here too. A library that uses more of the runtime (`Reloader`
//! in library code) fails that build, and hot builds then keep the
//! runtime (see `hotreload-runtime/src/build.rs`).

pub mod fnv;
pub mod forward;
pub mod layout;
pub mod panic;
pub mod registry;
pub mod state;

pub use hotreload_macros::{Layout, hot};
pub use layout::{Layout, LayoutHasher};
pub use panic::{OnPanic, RolledBack};

/// Used by the code `#[hot]` and `#[derive(Layout)]` generate, through
/// `hotreload_runtime::__private`; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::layout::{
        DeepLayout, LayoutHasher, NameLayout, Probe, ShallowLayout, TypeLayouts,
    };
    pub use crate::panic::{
        future_must_be_send_or_mark_the_fn_hot_not_send, guard_future, guard_program,
        guard_reloaded, resume_unless_rolled_back,
    };
    pub use crate::registry::{ENTRIES, Entry, Slot};
    pub use crate::state::{HotStatic, STATICS, StaticEntry};
    pub use linkme;
    /// For the hot expansion in `#![no_std]` crates (which have no `std`
    /// at their root but link it through this crate).
    pub use std;

    /// The hot expansion (second group): this crate stands in for the
    /// runtime only in hot builds. The runtime chooses by its `reload`
    /// feature.
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __hotreload_core_item {
        ({ $($as_written:tt)* } { $($hot:tt)* }) => { $($hot)* };
    }

    pub use crate::__hotreload_core_item as hot_item;

    /// A thunk's guard (see `crate::panic`): `guard_reloaded` in a
    /// reloaded build (direct builds pass `--cfg hotreload_build`),
    /// `guard_program` in the program's own. Chosen where the thunk is
    /// compiled, so the program's calls check nothing more.
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __hotreload_guard {
        ($implementation:expr, $path:expr, $body:expr) => {{
            // `unexpected_cfgs` is allowed on the thunk: a lint level on
            // a statement does not reach its `cfg`.
            #[cfg(hotreload_build)]
            let value = $crate::__private::guard_reloaded($implementation, $path, $body);
            #[cfg(not(hotreload_build))]
            let value = $crate::__private::guard_program($path, $body);
            value
        }};
    }

    pub use crate::__hotreload_guard as guard;

    /// Whether this is a reloaded build (see `guard!`).
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __hotreload_in_reloaded_build {
        () => {
            ::core::cfg!(hotreload_build)
        };
    }

    pub use crate::__hotreload_in_reloaded_build as in_reloaded_build;

    /// Names the shared library of dependencies in a hot build that links
    /// against one (`--cfg hotreload_deps`; see the runtime's `dylib.rs`):
    /// rustc links a dylib only if the crate names it. Nothing in any other
    /// build.
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __hotreload_link_dependencies {
        () => {
            #[allow(unexpected_cfgs)]
            const _: () = {
                #[cfg(hotreload_deps)]
                extern crate hotreload_deps as _;
            };
        };
    }

    pub use crate::__hotreload_link_dependencies as link_dependencies;
}
