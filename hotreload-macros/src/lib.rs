//! The `#[hot]` attribute of [hotreload](https://docs.rs/hotreload-runtime).
//!
//! Use it through `hotreload_runtime::hot`: the expansion names the runtime
//! by path and only the runtime's `reload` feature decides whether the item
//! becomes reloadable. This crate is thin: [`attr`] reads the arguments,
//! [`valid`] checks the item and collects every error, [`expand`] emits the
//! code.

mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Marks a function, or every method of an inherent `impl` block, as hot:
/// while the program runs with `hotreload_runtime::Reloader`, edits to its
/// body take effect at the next `Reloader::update()`.
///
/// Without the runtime's `reload` feature the item is emitted unchanged.
///
/// Arguments: `#[hot(crate = "path::to::hotreload_runtime")]` for crates that
/// re-export the runtime under another path.
#[proc_macro_attribute]
pub fn hot(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::hot(args.into(), item.into()).into()
}
