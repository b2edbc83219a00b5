//! The layout probe both macros emit for a type: the deepest fingerprint
//! the type has (see `hotreload_runtime::layout::Probe`), as a function
//! that feeds it to a hasher.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Type;

/// `(&&&Probe::<ty>::new()).feed()`, the function that feeds `ty`'s
/// fingerprint to a hasher; the caller brings the three `*Layout` traits
/// into scope.
pub fn probe(private: &TokenStream, ty: &Type) -> TokenStream {
    quote!((&&&#private::Probe::<#ty>::new()).feed())
}

/// Brings the probe's traits into scope.
pub fn probe_traits(private: &TokenStream) -> TokenStream {
    quote! {
        #[allow(unused_imports)]
        use #private::{DeepLayout as _, NameLayout as _, ShallowLayout as _};
    }
}
