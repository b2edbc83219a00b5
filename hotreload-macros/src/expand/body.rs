//! The body: the user's function as written, renamed (in an `impl` of the
//! self type, or of a helper trait for a trait impl's method).

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{ReceiverKind, ReturnType, Signature};

use crate::free_body::{self, SelfIs};
use crate::signature::Pointer;

use super::attrs::Attrs;
use super::hot_fn::HotFn;
use super::impls::{HelperBody, ImplBlock, trait_in_scope};
use super::names::Names;

impl HotFn<'_> {
    /// The user's function under the body's name, as written: a free
    /// function, or in an `impl` block of the self type (inherent impls),
    /// or as a free function taking `__hot_self` (trait impls).
    pub(super) fn body(&self, names: &Names, pointer: &Pointer) -> Body {
        let attrs = self.body_attrs();
        let track_caller = self.is_track_caller().then(|| quote!(#[track_caller]));
        let ident = &names.body;
        let inner = Attrs(self.attrs).inner();
        let stmts = contents(self.block);
        let block = match original(self.block) {
            Some(group) if inner.is_empty() => group.into_token_stream(),
            _ => braced(self.block, quote!(#(#inner)* #stmts)),
        };
        let mut sig = self.sig.clone();
        sig.ident = ident.clone();
        let Some(impl_block) = self.impl_block else {
            return Body {
                item: quote! {
                    #[doc(hidden)]
                    #(#attrs)*
                    #track_caller
                    #sig #block
                },
                call: quote!(#ident),
                direct: quote!(#ident),
                helper: None,
            };
        };
        let self_ty = impl_block.self_ty();
        let mapped_self_ty = pointer.self_ty.as_ref().unwrap_or(self_ty);
        let Some(trait_path) = impl_block.trait_path() else {
            let generics = &impl_block.item.generics;
            return Body {
                item: quote! {
                    impl #generics #self_ty {
                        #[doc(hidden)]
                        #(#attrs)*
                        #track_caller
                        #sig #block
                    }
                },
                call: quote!(<#mapped_self_ty>::#ident),
                direct: quote!(Self::#ident),
                helper: None,
            };
        };
        let trait_use = trait_in_scope(trait_path);
        let Some(helper) = &impl_block.helper else {
            let contents = quote!(#(#inner)* #trait_use #stmts);
            let item = self.free_trait_body((impl_block, trait_path), ident, &attrs, contents);
            return Body {
                item,
                helper: None,
                call: quote!(#ident),
                direct: quote!(#ident),
            };
        };
        // A trait method: a method of the block's helper trait.
        let block = braced(self.block, quote!(#(#inner)* #trait_use #stmts));
        let mapped_helper = pointer.mapped(&impl_block.helper_path(helper));
        Body {
            item: TokenStream::new(),
            helper: Some(HelperBody {
                sig: sig.clone(),
                cfgs: Attrs(self.attrs).cfgs().into_iter().cloned().collect(),
                definition: quote! {
                    #(#attrs)*
                    #track_caller
                    #sig #block
                },
            }),
            call: quote!(<#mapped_self_ty as #mapped_helper>::#ident),
            direct: quote!(<Self as #helper>::#ident),
        }
    }

    /// The body's attributes: the user's lint levels and `cfg`s, and
    /// allowances for what fires on the trampoline instead.
    fn body_attrs(&self) -> Vec<TokenStream> {
        let mut attrs = Attrs(self.attrs).for_body();
        // Lints about the signature alone fire on the trampoline, which has
        // the same one: once.
        attrs.push(quote! {
            #[allow(
                mismatched_lifetime_syntaxes,
                clippy::too_many_arguments,
                clippy::needless_lifetimes,
                clippy::type_complexity
            )]
        });
        // An attribute macro applies to the trampoline, whose arguments
        // have the user's names (see `param_name`), and may use an argument
        // the body does not (`#[instrument]` records them all): the body
        // must not warn where the user's function would not.
        if Attrs(self.attrs).has_macro() {
            attrs.push(quote!(#[allow(unused_variables)]));
        }
        attrs
    }

    /// A trait method whose trait path has lifetimes, as a free function
    /// of its own (`self` renamed, `Self` spelled out): `contents` is the
    /// block's.
    fn free_trait_body(
        &self,
        (impl_block, trait_path): (&ImplBlock<'_>, &syn::Path),
        ident: &syn::Ident,
        attrs: &[TokenStream],
        contents: TokenStream,
    ) -> TokenStream {
        let track_caller = self.is_track_caller().then(|| quote!(#[track_caller]));
        let named_self_ty = crate::signature::name_anonymous(impl_block.self_ty());
        let self_is = SelfIs {
            ty: &named_self_ty.ty,
            trait_: trait_path,
            names: &impl_block.names,
        };
        let params = free_body::params(self.sig, &self_is);
        let receiver = receiver_lifetime(self.sig);
        let mut output = self.sig.output.clone();
        if let (ReturnType::Type(_, ty), Some(lifetime)) = (&mut output, &receiver) {
            crate::signature::elided_to(ty, lifetime);
        }
        let output = free_body::rewrite(output.to_token_stream(), &self_is);
        let block = free_body::rewrite(braced(self.block, contents), &self_is);
        let lifetimes = impl_block
            .item
            .generics
            .lifetimes()
            .map(|l| &l.lifetime)
            .chain(&named_self_ty.lifetimes)
            .chain(receiver.as_ref().filter(|l| l.ident == "__hot_r"))
            .chain(self.sig.generics.lifetimes().map(|l| &l.lifetime));
        let (asyncness, unsafety) = (&self.sig.asyncness, &self.sig.safety);
        quote! {
            #[doc(hidden)]
            #(#attrs)*
            #track_caller
            #asyncness #unsafety fn #ident<#(#lifetimes),*>(#params) #output #block
        }
    }
}

/// The brace group of a body handed on unparsed (`expand::unparsed`), as
/// written: its braces keep their own spans, where a new group has the
/// whole body's span for each (a syntax error at the closing brace would
/// be reported twice, once at the brace and once at the body).
fn original(block: &syn::Block) -> Option<proc_macro2::Group> {
    match block.stmts.as_slice() {
        [syn::Stmt::Item(syn::Item::Verbatim(tokens))] => {
            let mut trees = tokens.clone().into_iter();
            match (trees.next(), trees.next()) {
                (Some(proc_macro2::TokenTree::Group(group)), None)
                    if group.delimiter() == proc_macro2::Delimiter::Brace =>
                {
                    Some(group)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// What is inside a body's braces.
fn contents(block: &syn::Block) -> TokenStream {
    match original(block) {
        Some(group) => group.stream(),
        None => {
            let stmts = &block.stmts;
            quote!(#(#stmts)*)
        }
    }
}

/// `tokens` in braces that have the span of `block`'s: an item's span then
/// lies in the user's code (rustc drops lints, `dead_code` among them, on
/// items whose span is inside an external macro's expansion).
pub(super) fn braced(block: &syn::Block, tokens: TokenStream) -> TokenStream {
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, tokens);
    group.set_span(block.brace_token.span.join());
    group.into_token_stream()
}

/// The body of a hot function, and how to call it.
pub(super) struct Body {
    pub(super) item: TokenStream,
    /// Instead of `item`: the body in its impl block's helper trait.
    pub(super) helper: Option<HelperBody>,
    /// The callee, from the thunk.
    pub(super) call: TokenStream,
    /// The callee, from the trampoline (for `#[track_caller]`).
    pub(super) direct: TokenStream,
}

/// The receiver's lifetime, if the receiver is a reference: its own, or
/// `'__hot_r` for an elided one (the free body names it so that elided
/// output lifetimes can take it).
pub(super) fn receiver_lifetime(sig: &Signature) -> Option<syn::Lifetime> {
    match &sig.receiver()?.kind {
        ReceiverKind::Reference(_, lifetime, _) => Some(
            lifetime
                .clone()
                .unwrap_or_else(|| syn::Lifetime::new("'__hot_r", Span::call_site())),
        ),
        _ => None,
    }
}
