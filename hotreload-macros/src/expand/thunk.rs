//! The thunk: what the slots point at; calls the body under the guard
//! that hands a panic to the program.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::signature::Pointer;

use super::hot_fn::HotFn;
use super::names::Names;

impl HotFn<'_> {
    /// What the slots point at: calls the body, and hands a panic in it to
    /// the program (`guard`), from the build the body is in (a panic
    /// cannot unwind out of a reloaded build: each has its own `std`).
    /// Arguments are moved into the guarded closure, so a result that
    /// borrows from one can leave it.
    pub(super) fn thunk(
        &self,
        private: &TokenStream,
        names: &Names,
        pointer: &Pointer,
        call: &TokenStream,
    ) -> TokenStream {
        let args: Vec<_> = (0..pointer.inputs.len())
            .map(|i| format_ident!("__hot_arg{}", i))
            .collect();
        let inputs = &pointer.inputs;
        let extra = pointer.extra.as_ref().map(|ty| quote!(_: #ty));
        let output = pointer.output.as_ref().map(|ty| quote!(-> #ty));
        let lifetimes = &pointer.lifetimes;
        let (thunk, entry) = (&names.thunk, &names.entry);
        let unsafety = pointer.unsafety.then(|| quote!(unsafe));
        let rebind = (!args.is_empty()).then(|| quote!(let (#(#args,)*) = (#(#args,)*);));
        let mut call = quote!(#call(#(#args),*));
        if pointer.unsafety {
            call = quote!(unsafe { #call });
        }
        if self.sig.asyncness.is_some() {
            if self.send {
                call = quote!(#private::future_must_be_send_or_mark_the_fn_hot_not_send(#call));
            }
            // Calling an `async fn` runs none of its code: guard the polls.
            let compiled = compiled(private);
            return quote! {
                #[doc(hidden)]
                #unsafety fn #thunk<#(#lifetimes),*>(#(#args: #inputs,)* #extra) #output {
                    #private::guard_future(&#entry, #compiled, #call)
                }
            };
        }
        let compiled = compiled(private);
        quote! {
            #[doc(hidden)]
            #unsafety fn #thunk<#(#lifetimes),*>(#(#args: #inputs),*) #output {
                #private::guard(&#entry, #compiled, move || {
                    #rebind
                    #call
                })
            }
        }
    }
}

/// `Compiled::<RELOADED>`, `RELOADED` whether this is a reloaded build (see
/// the core crate's `compiled!`).
pub(super) fn compiled(private: &TokenStream) -> TokenStream {
    quote!(#private::compiled!())
}
