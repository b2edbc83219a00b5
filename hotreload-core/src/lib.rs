//! The part of hotreload that is linked into every reloaded build: hot
//! function slots and their registry, the manifest a build exports, layout
//! fingerprints, and the panic hand-off to the program. Use it through
//! `hotreload-runtime`, which re-exports all of it.
//!
//! It is its own crate, with no dependency (but the optional `log` and
//! `tracing-core` of the forwarding features), to keep each
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
//! runtime (see `hotreload-runtime/src/build/mod.rs`).

#![warn(missing_docs)]

pub mod fnv;
pub mod forward;
pub mod host_link;
pub mod layout;
pub mod panic;
pub mod registry;
mod section;
pub mod state;

pub use hotreload_macros::{Layout, hot};
pub use layout::{Layout, LayoutHasher};
pub use panic::{OnPanic, PanickedCall, RolledBack};

/// Used by the code `#[hot]` and `#[derive(Layout)]` generate, through
/// `hotreload_runtime::__private`; not a public API.
#[doc(hidden)]
pub mod __private {
    /// Also read by tests (what is hot in a build).
    pub use crate::__hotreload_thin_slot as thin_slot;
    pub use crate::layout::{
        DeepLayout, LayoutHasher, NameLayout, Probe, ShallowLayout, TypeLayouts,
    };
    pub use crate::panic::{
        Compiled, PanickedCall, call_retrying, call_retrying_future, call_returning,
        call_returning_future, future_must_be_send_or_mark_the_fn_hot_not_send, guard,
        guard_future, guard_in_place,
    };
    pub use crate::registry::{BuiltFrom, ENTRIES, Entry, Slot, Thin};
    pub use crate::state::{HotStatic, StaticEntry};
    pub use crate::{
        __hotreload_compiled as compiled, __hotreload_entry as entry,
        __hotreload_link_dependencies as link_dependencies,
    };
    /// For the hot expansion in `#![no_std]` crates (which have no `std`
    /// at their root but link it through this crate).
    pub use std;
}
