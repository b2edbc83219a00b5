//! [`HotFn`]: one function to make hot, and how its pieces (body, thunk,
//! registration, trampoline) are put together.

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit_mut::VisitMut;
use syn::{Attribute, FnArg, ReceiverKind, ReturnType, Signature, Type, Visibility};

use crate::signature::{Pointer, ReplaceSelf};

use super::attrs::Attrs;
use super::impls::{HelperBody, ImplBlock};
use super::names::Names;
use super::registration::{built_from, link_dependencies};

/// The expansion of one hot function.
pub(super) struct Expanded {
    /// The body as a method of the impl block's helper trait (see
    /// [`ImplBlock::helper_items`]).
    pub(super) helper_body: Option<HelperBody>,
    /// Where the function was.
    pub(super) trampoline: TokenStream,
    /// Beside it (for a method: beside the impl block): the registry path,
    /// the body and the thunk, in the function's own module.
    pub(super) beside: TokenStream,
}

/// One function to make hot: a free function or a method.
pub(super) struct HotFn<'a> {
    /// `#[hot(?Send)]` was not given.
    pub(super) send: bool,
    pub(super) attrs: &'a [Attribute],
    pub(super) vis: &'a Visibility,
    pub(super) sig: &'a Signature,
    pub(super) block: &'a syn::Block,
    pub(super) impl_block: Option<&'a ImplBlock<'a>>,
}

impl HotFn<'_> {
    /// [`HotFn::expand`], or [`HotFn::expand_thin`] for a function a quick
    /// build leaves to the program (see [`crate::thin`]).
    pub(super) fn expand_as_needed(&self, krate: &syn::Path) -> Expanded {
        if crate::thin::is_thin(&self.sig.ident) {
            self.expand_thin(krate)
        } else {
            self.expand(krate)
        }
    }

    /// What both expansions start from: the path of the runtime's private
    /// items, the generated names, the slot's function pointer type.
    pub(super) fn prepare(&self, krate: &syn::Path) -> (TokenStream, Names, Pointer) {
        let private = quote!(#krate::__private);
        let names = Names::new(self);
        let pointer = Pointer::new(
            self.sig,
            self.impl_block.map(ImplBlock::of),
            &private,
            self.send,
        );
        (private, names, pointer)
    }

    /// Only the trampoline, calling through the program's slot: no body,
    /// thunk or entry. The slot is found by path when the build is loaded.
    pub(super) fn expand_thin(&self, krate: &syn::Path) -> Expanded {
        let (private, names, pointer) = self.prepare(krate);
        let suffix = &names.suffix;
        let slot = quote!(#private::thin_slot!(#suffix));
        Expanded {
            helper_body: None,
            trampoline: self.trampoline(&private, &slot, &pointer, &self.arguments(&pointer), None),
            beside: link_dependencies(&private),
        }
    }

    /// The steps, each its own method below.
    pub(super) fn expand(&self, krate: &syn::Path) -> Expanded {
        let (private, names, pointer) = self.prepare(krate);
        let body = self.body(&names, &pointer);
        let body_item = &body.item;
        let thunk = self.thunk(&private, &names, &pointer, &body.call);
        let arguments = self.arguments(&pointer);
        let registration = self.registration(&private, &names, &pointer, arguments.after_rollback);
        let entry = &names.entry;
        let slot = quote!(&#entry.slot);
        let direct = Some((&body.direct, entry));
        let trampoline = self.trampoline(&private, &slot, &pointer, &arguments, direct);
        Expanded {
            helper_body: body.helper,
            trampoline,
            beside: {
                // Not under the function's `cfg`s: a crate says it once.
                let beside = self.beside([
                    body_item.clone(),
                    thunk,
                    registration,
                    link_dependencies(&private),
                ]);
                let built_from = built_from(&private);
                quote!(#beside #built_from)
            },
        }
    }

    pub(super) fn is_track_caller(&self) -> bool {
        self.attrs
            .iter()
            .any(|attr| attr.path().is_ident("track_caller"))
    }

    /// The argument and return types as written, `Self` spelled out: what
    /// the registry shows (signature, layouts) and compares. `compiled`:
    /// to be compiled outside the impl (layout probes), rather than read.
    pub(super) fn display_types(&self, compiled: bool) -> (Vec<Type>, Option<Type>) {
        let self_ty = self.impl_block.map(ImplBlock::self_ty);
        let mut inputs: Vec<Type> = self
            .sig
            .inputs
            .iter()
            .map(|arg| match arg {
                FnArg::Receiver(receiver) => {
                    let self_ty = self_ty.expect("validated: receivers only in impls");
                    match &receiver.kind {
                        ReceiverKind::Reference(and, lifetime, mutability) => {
                            syn::parse_quote!(#and #lifetime #mutability #self_ty)
                        }
                        ReceiverKind::Typed(_, ty) => (**ty).clone(),
                        _ => self_ty.clone(),
                    }
                }
                FnArg::Typed(pat_type) => (*pat_type.ty).clone(),
            })
            .collect();
        let mut output = match &self.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        if let Some(impl_block) = self.impl_block {
            let mut replace = ReplaceSelf {
                self_ty: impl_block.self_ty(),
                trait_: impl_block
                    .trait_path()
                    .map(|path| (path, impl_block.names.as_slice())),
                helper: impl_block.helper_path.as_ref().filter(|_| compiled),
            };
            inputs.iter_mut().for_each(|ty| replace.visit_type_mut(ty));
            if let Some(ty) = &mut output {
                replace.visit_type_mut(ty);
            }
        }
        (inputs, output)
    }

    /// Everything beside the trampoline: `items` (body, thunk, entry and
    /// the dependencies library's name), each with the function's `cfg`s.
    pub(super) fn beside(&self, items: [TokenStream; 4]) -> TokenStream {
        let attrs = Attrs(self.attrs);
        let block_attrs = Attrs(self.impl_block.map_or(&[][..], |block| &block.item.attrs));
        let cfgs: Vec<_> = block_attrs.cfgs().into_iter().chain(attrs.cfgs()).collect();
        let items = items
            .iter()
            .filter(|item| !item.is_empty())
            .map(|item| quote!(#(#cfgs)* #item));
        quote!(#(#items)*)
    }
}
