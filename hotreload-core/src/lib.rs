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

pub mod layout;
pub mod panic;
pub mod registry;

pub use layout::{Layout, LayoutHasher};
pub use panic::{OnPanic, RolledBack};

/// Used by the code `#[derive(Layout)]` generates; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::layout::{DeepLayout, NameLayout, Probe, ShallowLayout};
    pub use linkme;
}
