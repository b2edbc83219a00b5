//! The trampoline: the user's signature and attributes where the function
//! was; one load of the slot and one indirect call, and what a call whose
//! new code panicked does.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::{FnArg, Ident, Pat, PatIdent, ReceiverKind, Type};

use crate::signature::Pointer;

use super::attrs::Attrs;
use super::body::braced;
use super::hot_fn::HotFn;
use super::types::may_borrow;

impl HotFn<'_> {
    /// The function the program calls, with the user's signature and
    /// attributes, calling through `slot` (an expression of type
    /// `&'static Slot`) with `arguments`; `direct` is the body's path and
    /// the entry, if this build has the body.
    pub(super) fn trampoline(
        &self,
        private: &TokenStream,
        slot: &TokenStream,
        pointer: &Pointer,
        arguments: &Arguments,
        direct: Option<(&TokenStream, &Ident)>,
    ) -> TokenStream {
        let call = self.call(private, pointer, arguments);
        let params = &arguments.params;
        let direct = direct.and_then(|direct| self.direct(private, pointer, arguments, direct));

        let attrs = Attrs(self.attrs).for_trampoline();
        let has_inline = self.attrs.iter().any(|attr| attr.path().is_ident("inline"));
        let inline = (!has_inline).then(|| quote!(#[inline]));
        let vis = self.vis;
        let mut trampoline_sig = self.sig.clone();
        trampoline_sig.inputs = syn::parse_quote!(#(#params),*);
        let pointer_ty = pointer.ty();
        // The braces are the user's: the item's span then lies in the
        // user's code, and lints on it (`dead_code`) are not taken for
        // lints inside this macro's expansion and dropped.
        let block = braced(
            self.block,
            quote! {
                type __HotFn = #pointer_ty;
                let __hot_slot = #slot;
                #direct
                #call
            },
        );
        quote! {
            #(#attrs)*
            #inline
            #vis #trampoline_sig #block
        }
    }

    /// While the program runs the code it was built with, its trampoline
    /// calls the body directly: for `#[track_caller]`, so that
    /// `Location::caller()` is the caller's (a call through a function
    /// pointer cannot pass it on); for an `async fn`, so that its future is
    /// not boxed (it is guarded in place, as the thunk would guard it).
    /// Never in a reloaded build (`hotreload_build`): its calls go through
    /// the guard that hands a panic to the program.
    fn direct(
        &self,
        private: &TokenStream,
        pointer: &Pointer,
        arguments: &Arguments,
        (body, entry): (&TokenStream, &Ident),
    ) -> Option<TokenStream> {
        let future = self.sig.asyncness.is_some();
        if !future && !self.is_track_caller() {
            return None;
        }
        let args = &arguments.call;
        let mut call = quote!(#body(#(#args),*));
        if pointer.unsafety {
            call = quote!(unsafe { #call });
        }
        if future {
            call = quote!(#private::guard_in_place(#entry.path, #call).await);
        }
        Some(quote! {
            #[allow(unexpected_cfgs)]
            let __hot_direct = !::core::cfg!(hotreload_build);
            if __hot_direct && __hot_slot.runs_original() {
                return #call;
            }
        })
    }

    /// The trampoline's arguments: as declared, passed on, and passed
    /// again; and so what a call whose new code panicked does.
    pub(super) fn arguments(&self, pointer: &Pointer) -> Arguments {
        let mut arguments = Arguments {
            params: Vec::new(),
            call: Vec::new(),
            again: Some(Vec::new()),
            after_rollback: AfterRollback::Panicked,
        };
        let mut reborrows_mut = false;
        for (index, arg) in self.sig.inputs.iter().enumerate() {
            let again = match arg {
                FnArg::Receiver(receiver) => {
                    let mut receiver = receiver.clone();
                    receiver.mutability = None;
                    arguments.params.push(receiver.to_token_stream());
                    arguments.call.push(quote!(self));
                    match &receiver.kind {
                        ReceiverKind::Reference(_, _, Some(_)) => {
                            reborrows_mut = true;
                            Some(quote!(&mut *self))
                        }
                        ReceiverKind::Reference(_, _, None) => Some(quote!(self)),
                        _ => None,
                    }
                }
                FnArg::Typed(pat_type) => {
                    let name = param_name(&pat_type.pat, index);
                    let ty = &pat_type.ty;
                    arguments.params.push(quote!(#name: #ty));
                    arguments.call.push(name.to_token_stream());
                    reborrows_mut |= is_mut_reference(ty);
                    reusable(ty, &name)
                }
            };
            match (&mut arguments.again, again) {
                (Some(all), Some(again)) => all.push(again),
                (all, _) => *all = None,
            }
        }
        arguments.after_rollback =
            self.after_rollback(pointer, arguments.again.is_some(), reborrows_mut);
        arguments
    }

    /// What the trampoline does with a call whose new code panicked and was
    /// rolled back (`PanickedCall` in the core crate). Retried where every
    /// argument can be passed again, the result does not borrow from a
    /// `&mut` argument (passed again as a reborrow of the retrying
    /// closure's capture, which a result cannot outlive; a `'static` result
    /// borrows nothing, and one that borrows from shared references, such
    /// as a `Box<dyn Iterator + '_>` over a `&World`, borrows what the
    /// caller lent), the function is not `async` with a borrowing result,
    /// and it is not an `unsafe fn` (its caller vouched for one call, whose
    /// first attempt may have changed what a second relies on); else
    /// returned where the result is `()`.
    fn after_rollback(
        &self,
        pointer: &Pointer,
        reusable: bool,
        reborrows_mut: bool,
    ) -> AfterRollback {
        let (_, output) = self.display_types(true);
        let borrows = output.as_ref().is_some_and(may_borrow)
            && (reborrows_mut || self.sig.asyncness.is_some());
        let retried = reusable && !borrows && !pointer.unsafety;
        let unit = match &output {
            None => true,
            Some(Type::Tuple(tuple)) => tuple.elems.is_empty(),
            Some(_) => false,
        };
        if retried {
            AfterRollback::Retried
        } else if unit {
            AfterRollback::Returned
        } else {
            AfterRollback::Panicked
        }
    }

    /// The trampoline's call through the slot, as [`Self::after_rollback`]
    /// says (an `async fn` awaits it).
    pub(super) fn call(
        &self,
        private: &TokenStream,
        pointer: &Pointer,
        arguments: &Arguments,
    ) -> TokenStream {
        // SAFETY (the `unsafe` around an `unsafe fn`'s call): the
        // trampoline is an `unsafe fn` with the user's contract, and its
        // caller's promise for this one call is passed on (never retried).
        let extra = pointer
            .extra
            .is_some()
            .then(|| quote!(::core::marker::PhantomData));
        let invoke = |args: &[TokenStream]| {
            let args = args.iter().chain(extra.iter());
            if pointer.unsafety {
                quote!(unsafe { __hot_fn(#(#args),*) })
            } else {
                quote!(__hot_fn(#(#args),*))
            }
        };
        let (call, again) = (
            invoke(&arguments.call),
            arguments.again.as_deref().map(invoke),
        );
        let future = self.sig.asyncness.is_some();
        let wait = future.then(|| quote!(.await));
        // SAFETY (the slot's `load`, and the `call_*` helpers that load
        // it): the slot only ever holds a function of type `__HotFn`. Our
        // own entry's slot holds our thunk, or code of a build that the
        // host verified to have this signature and these layout
        // fingerprints. A thin trampoline's slot is the program's: a quick
        // build is made only when every file's skeleton (all but the hot
        // bodies) is the verified live build's, so the function's types
        // are the program's too.
        let helper = |name: &str, call: TokenStream| {
            let name = format_ident!("{name}{}", if future { "_future" } else { "" });
            let compiled = (!future).then(|| {
                let compiled = super::thunk::compiled(private);
                quote!(#compiled,)
            });
            quote! {
                let __hot_call = |__hot_fn: __HotFn| #call;
                unsafe { #private::#name(__hot_slot, #compiled __hot_call) } #wait
            }
        };
        match (arguments.after_rollback, again) {
            (AfterRollback::Retried, Some(again)) => helper("call_retrying", again),
            (AfterRollback::Returned, _) => helper("call_returning", call),
            _ => quote! {
                let __hot_fn = unsafe { __hot_slot.load::<__HotFn>() };
                #call #wait
            },
        }
    }
}

/// A trampoline's arguments.
pub(super) struct Arguments {
    /// As the trampoline declares them (the user's names: see
    /// `param_name`).
    pub(super) params: Vec<TokenStream>,
    /// As it passes them on.
    pub(super) call: Vec<TokenStream>,
    /// As it passes them a second time, to retry a call whose new code
    /// panicked; `None` if one cannot be passed again.
    pub(super) again: Option<Vec<TokenStream>>,
    /// What a call whose new code panicked does.
    pub(super) after_rollback: AfterRollback,
}

/// `PanickedCall` of the core crate, as the macro decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterRollback {
    Retried,
    Returned,
    Panicked,
}

/// The trampoline's name for an argument: the user's own where the
/// pattern is a plain name, since attribute macros below `#[hot]` apply to
/// the trampoline and may read it (`#[instrument]` makes span fields of
/// them); else `__hot_arg<index>` (a pattern, `_`). Never `mut`: the
/// trampoline only passes it on.
pub(super) fn param_name(pat: &Pat, index: usize) -> Ident {
    match pat {
        Pat::Ident(PatIdent {
            by_ref: None,
            subpat: None,
            ident,
            ..
        }) => ident.clone(),
        _ => format_ident!("__hot_arg{}", index),
    }
}

/// `&mut T` (in parentheses too): passed again as a reborrow (`reusable`).
fn is_mut_reference(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => reference.mutability.is_some(),
        Type::Paren(inner) => is_mut_reference(&inner.elem),
        _ => false,
    }
}

/// How an argument of type `ty` can be passed a first time and still be
/// passed again: references are reborrowed, primitives copied; anything else
/// is moved by the first call (`None`).
pub(super) fn reusable(ty: &Type, name: &syn::Ident) -> Option<TokenStream> {
    const COPY: &[&str] = &[
        "bool", "char", "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16",
        "u32", "u64", "u128", "usize",
    ];
    match ty {
        Type::Reference(reference) if reference.mutability.is_some() => Some(quote!(&mut *#name)),
        Type::Reference(_) => Some(quote!(#name)),
        Type::Path(path)
            if COPY
                .iter()
                .any(|p| path.qself.is_none() && path.path.is_ident(p)) =>
        {
            Some(quote!(#name))
        }
        Type::Paren(inner) => reusable(&inner.elem, name),
        _ => None,
    }
}
