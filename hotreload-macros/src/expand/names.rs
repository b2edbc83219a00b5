//! The names of a hot function's pieces.

use quote::format_ident;

use super::hot_fn::HotFn;

/// The names one hot function's items get, all beside it in its own
/// module: the body there keeps `module_path!()` (a `log` or `tracing`
/// target) what the user wrote; everything else is named for the
/// function.
pub(super) struct Names {
    pub(super) body: syn::Ident,
    pub(super) thunk: syn::Ident,
    pub(super) entry: syn::Ident,
    /// What follows `module_path!()` in the registry path.
    pub(super) suffix: String,
}

impl Names {
    pub(super) fn new(hot: &HotFn<'_>) -> Names {
        let name = &hot.sig.ident;
        let (key, suffix) = match hot.impl_block {
            None => (name.to_string(), format!("::{name}")),
            Some(block) => (String::new(), format!("::{}::{name}", block.display)),
        };
        // A method's: the words of its type (and trait), a hash of them
        // (`impl Index for Span` and `impl Index for &Span` have the same
        // words), its name. Joined by single underscores, so the names stay
        // snake (and upper) case and no lint fires on them.
        let key = match hot.impl_block {
            None => key,
            Some(block) => format!("{}_{}", block.key, name),
        };
        let lower = key.to_lowercase();
        let body = match hot.impl_block {
            // An associated function of its type: the method's own name.
            Some(block) if block.trait_path().is_none() => format_ident!(
                "__hotreload_impl_{}",
                name.to_string().to_lowercase(),
                span = name.span()
            ),
            _ => format_ident!("__hotreload_impl_{}", lower, span = name.span()),
        };
        Names {
            body,
            thunk: format_ident!("__hotreload_thunk_{}", lower),
            entry: format_ident!("__HOTRELOAD_ENTRY_{}", key.to_uppercase()),
            suffix,
        }
    }
}
