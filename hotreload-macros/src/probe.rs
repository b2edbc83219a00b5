//! The layout probe both macros emit for a type: the deepest fingerprint
//! the type has (see `hotreload_runtime::layout::Probe`), fed to a variable
//! `hasher` in scope.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Type;

/// `(&&&Probe::<ty>::new()).layout(hasher);`; the caller brings the three
/// `*Layout` traits into scope.
pub fn probe(private: &TokenStream, ty: &Type) -> TokenStream {
    quote!((&&&#private::Probe::<#ty>::new()).layout(hasher);)
}

/// Brings the probe's traits into scope.
pub fn probe_traits(private: &TokenStream) -> TokenStream {
    quote! {
        #[allow(unused_imports)]
        use #private::{DeepLayout as _, NameLayout as _, ShallowLayout as _};
    }
}
