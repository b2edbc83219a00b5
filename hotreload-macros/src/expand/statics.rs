//! `#[hot] static`: one instance, the program's, for every build.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::attr::Args;
use crate::probe::probe_traits;

use super::attrs::Attrs;
use super::registration::{probe_statement, section_attrs};
use super::types::compact;

/// `#[hot] static NAME: T = init;`: the initializer becomes this build's
/// own instance, and `NAME` a `HotStatic<T>` that dereferences to the
/// program's instance in every build (see `hotreload_core::state`).
pub(super) fn hot_static(args: &Args, item: &syn::ItemStatic) -> syn::Result<TokenStream> {
    if let syn::StaticMutability::Mut(mutability) = &item.mutability {
        return Err(syn::Error::new_spanned(
            mutability,
            "#[hot] cannot be used on a `static mut`: give the static a type with interior \
             mutability (an atomic, a `Mutex`) instead",
        ));
    }
    let krate = &args.krate;
    let private = quote!(#krate::__private);
    let syn::ItemStatic {
        attrs,
        vis,
        static_token,
        ident,
        ty,
        expr,
        ..
    } = item;
    let attrs = Attrs(attrs);
    let cfgs = attrs.cfgs();
    let upper = ident.to_string().to_uppercase();
    let own = format_ident!("__HOTRELOAD_OWN_{}", upper);
    let entry = format_ident!("__HOTRELOAD_STATIC_{}", upper);
    let label = compact(ty);
    let probe = probe_statement(&private, ty);
    let traits = probe_traits(&private);
    let section = section_attrs("hotreload_statics", "__hr_statics");
    let attrs = attrs.for_trampoline();
    let name = ident.to_string();
    Ok(quote! {
        #[doc(hidden)]
        #(#cfgs)*
        #static_token #own: #ty = #expr;
        #(#attrs)*
        #vis #static_token #ident: #private::HotStatic<#ty> = #private::HotStatic::new(&#own);
        #[doc(hidden)]
        #(#cfgs)*
        #section
        #static_token #entry: #private::StaticEntry = #private::StaticEntry::new(
            &#ident,
            ::core::concat!(::core::module_path!(), "::", #name),
            #label,
            {
                fn layout(types: &mut #private::TypeLayouts) {
                    #traits
                    #probe
                }
                layout
            },
            ::core::env!("CARGO_PKG_NAME"),
        );
    })
}
