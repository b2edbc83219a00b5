//! The `#[hot]` attribute of [hotreload](https://docs.rs/hotreload-runtime).
//!
//! Use it through `hotreload_runtime::hot`: the expansion names the runtime
//! by path, and the runtime's `reload` feature (which turns on this crate's
//! `reload`) decides whether the item becomes reloadable. This crate is thin:
//! `attr` reads the arguments, `valid` (the `hotreload-syntax` crate, whose
//! rules the reloader shares) checks the item and collects every error,
//! `expand` emits the code; `derive` is `#[derive(Layout)]`.

#![warn(missing_docs)]

mod attr;
mod derive;
mod expand;
mod fnv;
mod free_body;
mod probe;
mod signature;
mod thin;

use hotreload_syntax::valid;

use proc_macro::TokenStream;

/// Marks a function, every method of an `impl` block (inherent or of a
/// trait) that can be hot, or a `static` (one instance for every build),
/// as hot: while the program runs with `hotreload_runtime::Reloader`,
/// edits to a body take effect at the next `Reloader::update()`.
///
/// Without the runtime's `reload` feature the item is emitted unchanged.
///
/// Arguments: `#[hot(crate = "path::to::hotreload_runtime")]` for crates that
/// re-export the runtime under another path.
#[proc_macro_attribute]
pub fn hot(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::hot(args.into(), item.into(), cfg!(feature = "reload")).into()
}

/// Derives `hotreload_runtime::Layout`: a deep layout fingerprint of the
/// type (name, size, alignment, each field's name, offset and type,
/// recursively), so that a reload after a change to the type is refused
/// (`HOT011`) instead of letting new code read old data wrongly.
///
/// Put it on the types that hot functions take or return. Without it a type
/// is fingerprinted by name, size and alignment only.
///
/// Arguments: `#[layout(crate = "path::to::hotreload_runtime")]`.
#[proc_macro_derive(Layout, attributes(layout))]
pub fn derive_layout(item: TokenStream) -> TokenStream {
    derive::layout(item.into()).into()
}
